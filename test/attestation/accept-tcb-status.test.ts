/**
 * `--accept-tcb-status` (and CCNODES_ATTESTATION_ACCEPT_TCB_STATUS) as `ccnodes attestation serve`
 * applies it, with simulated platforms whose quotes reach each TCB status through the real
 * verifier: a listed status is accepted (even one outside the default set), an unlisted one is
 * refused (even one inside the default set), and `Revoked` is refused even when it is listed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { serializeCollateralBundle } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import { attestSgx, bindingFor, decodeJwt, simQuoteBytes } from './support.ts';

const dcap = createSimDcap({ seed: 'accept-tcb-status' });
const runtime = Buffer.from('accept-tcb-status runtime data');

interface CliService {
  readonly url: string;
  stop(): Promise<number>;
}

let workDir: string;

/** Runs `ccnodes attestation serve` in process on 127.0.0.1:0 with the simulated offline collateral. */
async function serve(name: string, args: string[], env: Record<string, string> = {}): Promise<CliService> {
  const out: string[] = [];
  const err: string[] = [];
  const abort = new AbortController();
  const ctx: CliContext = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: { CCNODES_ATTESTATION_DATA_DIR: join(workDir, name), ...env },
    cwd: process.cwd(),
    signal: abort.signal,
    exitCode: 0,
  };
  const done = runCli(
    [
      'attestation',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--insecure-http',
      '--collateral',
      join(workDir, 'bundle.json'),
      '--trust-simulated-root',
      join(workDir, 'root.pem'),
      '--log-level',
      'info',
      ...args,
    ],
    ctx,
  );
  let exited: number | undefined;
  void done.then((code) => (exited = code));
  const deadline = Date.now() + 120_000; // generous: a loaded 2-core machine
  for (;;) {
    const line = out
      .join('')
      .split('\n')
      .find((l) => l.includes('attestation service ready'));
    if (line !== undefined) {
      const { url } = JSON.parse(line) as { url: string };
      return {
        url,
        stop: async () => {
          abort.abort(new Error('test done'));
          return done;
        },
      };
    }
    if (exited !== undefined) throw new Error(`serve exited ${exited}: ${err.join('')}`);
    if (Date.now() > deadline) throw new Error(`serve did not start: ${err.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function outcome(
  url: string,
  platform: string,
): Promise<{ status: number; code: string | null; tcb?: unknown }> {
  const res = await attestSgx(
    url,
    simQuoteBytes({ reportData: bindingFor(runtime), platform }, dcap),
    runtime,
  );
  if (res.status === 200) {
    return {
      status: 200,
      code: null,
      tcb: decodeJwt(String(res.body['token'])).payload['x-ccnodes-tcb-status'],
    };
  }
  return { status: res.status, code: res.headers.get('x-ccnodes-error-code') };
}

const accepted = (tcb: string): { status: number; code: null; tcb: string } => ({
  status: 200,
  code: null,
  tcb,
});
const refused = { status: 400, code: 'ERR_ATTEST_TCB_REJECTED' };

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'ccnodes-accept-tcb-'));
  // Every processor-CA preset shares one FMSPC, so one offline bundle serves all of them.
  writeFileSync(join(workDir, 'bundle.json'), serializeCollateralBundle(dcap.collateral('up-to-date')));
  writeFileSync(join(workDir, 'root.pem'), dcap.rootPem);
});
after(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('attestation serve without --accept-tcb-status (default set)', () => {
  let s: CliService;
  before(async () => (s = await serve('default', [])));
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  test('UpToDate and SWHardeningNeeded are accepted; OutOfDate and Revoked are refused', async () => {
    assert.deepEqual(await outcome(s.url, 'up-to-date'), accepted('UpToDate'));
    assert.deepEqual(await outcome(s.url, 'sw-hardening-needed'), accepted('SWHardeningNeeded'));
    assert.deepEqual(await outcome(s.url, 'out-of-date'), refused);
    assert.deepEqual(await outcome(s.url, 'revoked'), refused);
  });
});

describe('attestation serve --accept-tcb-status UpToDate,OutOfDate', () => {
  let s: CliService;
  before(async () => (s = await serve('listed', ['--accept-tcb-status', 'UpToDate, OutOfDate'])));
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  test('a listed status outside the default set is accepted and reported', async () => {
    assert.deepEqual(await outcome(s.url, 'out-of-date'), accepted('OutOfDate'));
    assert.deepEqual(await outcome(s.url, 'qe-out-of-date'), accepted('OutOfDate'));
    assert.deepEqual(await outcome(s.url, 'up-to-date'), accepted('UpToDate'));
  });

  test('an unlisted status is refused, even one of the default set', async () => {
    assert.deepEqual(await outcome(s.url, 'sw-hardening-needed'), refused);
    assert.deepEqual(await outcome(s.url, 'configuration-needed'), refused);
    assert.deepEqual(await outcome(s.url, 'out-of-date-configuration-needed'), refused);
  });
});

describe('Revoked is refused even when listed', () => {
  test('--accept-tcb-status Revoked,UpToDate: Revoked refused, UpToDate accepted', async () => {
    const s = await serve('revoked-flag', ['--accept-tcb-status', 'Revoked,UpToDate']);
    try {
      assert.deepEqual(await outcome(s.url, 'revoked'), refused);
      assert.deepEqual(await outcome(s.url, 'up-to-date'), accepted('UpToDate'));
      const res = await attestSgx(
        s.url,
        simQuoteBytes({ reportData: bindingFor(runtime), platform: 'revoked' }, dcap),
        runtime,
      );
      const message = String((res.body['error'] as Record<string, unknown> | undefined)?.['message']);
      assert.match(message, /TCB status Revoked/);
      assert.doesNotMatch(message, /accepted: [^)]*Revoked/, 'Revoked is not shown as accepted');
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('CCNODES_ATTESTATION_ACCEPT_TCB_STATUS listing every status still refuses Revoked', async () => {
    const s = await serve('revoked-env', [], {
      CCNODES_ATTESTATION_ACCEPT_TCB_STATUS:
        'UpToDate,SWHardeningNeeded,ConfigurationNeeded,ConfigurationAndSWHardeningNeeded,OutOfDate,OutOfDateConfigurationNeeded,Revoked',
    });
    try {
      assert.deepEqual(await outcome(s.url, 'revoked'), refused);
      assert.deepEqual(
        await outcome(s.url, 'out-of-date-configuration-needed'),
        accepted('OutOfDateConfigurationNeeded'),
      );
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
