/**
 * `ccnodes attestation serve --collateral <PCCS URL>` in process against the simulated PCS: the
 * service fetches SGX collateral for an SGX quote and TDX collateral (`/tdx/certification/v4/...`)
 * for TDX quotes, and attests both kinds — `/attest/SgxEnclave` and `/attest/TdxVm` (v4 and v5).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import type { FastifyInstance } from 'fastify';
import { buildSimPcsApp, createSimDcap } from '../../src/sim/index.ts';
import { decodeJwt, postJson } from './support.ts';
import { TDX_API, tdBinding } from './tdx-support.ts';

const dcap = createSimDcap({ seed: 'tdx-serve-cli' });

async function waitFor<T>(fn: () => T | undefined, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('attestation serve with a PCCS URL attests SGX and TDX quotes', () => {
  let pcs: FastifyInstance;
  let pcsUrl: string;
  let dir: string;
  let url: string;
  let stop: AbortController;
  let done: Promise<number>;
  const fetched: string[] = [];

  before(async () => {
    // The simulated PCS as `sim pcs` serves it, recording the paths the service fetches.
    pcs = await buildSimPcsApp(dcap);
    pcs.addHook('onRequest', (request, _reply, next) => {
      fetched.push(request.url.split('?')[0] ?? '');
      next();
    });
    pcsUrl = await pcs.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-tdx-serve-'));
    writeFileSync(join(dir, 'root.pem'), dcap.rootPem);
    const out: string[] = [];
    const err: string[] = [];
    stop = new AbortController();
    const ctx: CliContext = {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env: { CCNODES_ATTESTATION_DATA_DIR: join(dir, 'data'), CCNODES_ATTESTATION_INSECURE_HTTP: '1' },
      cwd: process.cwd(),
      signal: stop.signal,
      exitCode: 0,
    };
    done = runCli(
      [
        'attestation',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--collateral',
        pcsUrl,
        '--trust-simulated-root',
        join(dir, 'root.pem'),
        '--log-level',
        'info',
      ],
      ctx,
    );
    const ready = await waitFor(() => {
      if (err.length > 0) throw new Error(`serve failed: ${err.join('')}`);
      const line = out
        .join('')
        .split('\n')
        .find((l) => l.includes('attestation service ready'));
      return line === undefined ? undefined : (JSON.parse(line) as { url: string });
    });
    url = ready.url;
  });
  after(async () => {
    stop.abort(new Error('test done'));
    await done.catch(() => undefined);
    await pcs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an SGX quote at /attest/SgxEnclave (SGX collateral)', async () => {
    const p = dcap.platform('up-to-date');
    const quote = p.quote(p.syntheticReportBody({ reportData: new Uint8Array(64) }));
    const res = await postJson(`${url}/attest/SgxEnclave?api-version=2022-08-01`, {
      quote: Buffer.from(quote).toString('base64url'),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(decodeJwt(String(res.body['token'])).payload['x-ms-attestation-type'], 'sgx');
  });

  for (const version of [4, 5] as const) {
    test(`a TDX v${version} quote at /attest/TdxVm (TDX collateral fetched from /tdx/certification/v4)`, async () => {
      const runtime = Buffer.from(JSON.stringify({ td: version }));
      const quote = dcap.tdx('multi-package').quote({ reportData: tdBinding(runtime) }, { version });
      const res = await postJson(`${url}/attest/TdxVm?api-version=${TDX_API}`, {
        quote: Buffer.from(quote).toString('base64url'),
        runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const c = decodeJwt(String(res.body['token'])).payload;
      assert.equal(c['x-ms-attestation-type'], 'tdxvm');
      assert.equal(c['attester_tcb_status'], 'UpToDate');
      assert.deepEqual(c['x-ms-runtime'], { td: version });
      assert.ok(fetched.includes('/tdx/certification/v4/tcb'), fetched.join(' '));
      assert.ok(fetched.includes('/tdx/certification/v4/qe/identity'), fetched.join(' '));
    });
  }
});
