/**
 * `ccnodes attestation serve --collateral <PCS/PCCS URL>` in every usual base form, as the shipped
 * deployment writes it (`…/sgx/certification/v4/`): the service fetches collateral from the
 * simulated PCS at the right paths (the prefix is not appended twice) and attests a simulated
 * quote through the HTTP API. A URL in no accepted form, and PCS flags with offline collateral,
 * stop the service at start with exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { createSimDcap, startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { attestSgx, bindingFor, simQuoteBytes } from './support.ts';

const dcap = createSimDcap({ seed: 'serve-collateral-url' });
const runtime = Buffer.from('serve-collateral-url runtime data');

let workDir: string;
let pcs: SimPcsServer;
const requested: string[] = [];

function context(name: string, abort: AbortController, out: string[], err: string[]): CliContext {
  return {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: { CCNODES_ATTESTATION_DATA_DIR: join(workDir, name) },
    cwd: process.cwd(),
    signal: abort.signal,
    exitCode: 0,
  };
}

const baseArgs = (): string[] => [
  'attestation',
  'serve',
  '--listen',
  '127.0.0.1:0',
  '--insecure-http',
  '--trust-simulated-root',
  join(workDir, 'root.pem'),
  '--log-level',
  'info', // the "attestation service ready" line is logged at info
];

describe('attestation serve --collateral <url>', () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ccnodes-serve-url-'));
    writeFileSync(join(workDir, 'root.pem'), dcap.rootPem);
    pcs = await startSimPcs(dcap);
    pcs.app.server.on('request', (request: { url?: string }) => {
      requested.push(request.url ?? '');
    });
  });
  after(async () => {
    await pcs.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  for (const [i, form] of [
    (u: string) => `${u}/sgx/certification/v4/`,
    (u: string) => `${u}/sgx/certification/v4`,
    (u: string) => u,
  ].entries()) {
    test(`base form ${form('<pcs>')}: attests through collateral fetched at the PCCS paths`, async () => {
      const out: string[] = [];
      const err: string[] = [];
      const abort = new AbortController();
      const done = runCli(
        [...baseArgs(), '--collateral', form(pcs.url)],
        context(`form${i}`, abort, out, err),
      );
      let exited: number | undefined;
      void done.then((code) => (exited = code));
      try {
        let url: string | undefined;
        const deadline = Date.now() + 120_000; // generous: a loaded 2-core machine
        while (url === undefined) {
          const line = out
            .join('')
            .split('\n')
            .find((l) => l.includes('attestation service ready'));
          if (line !== undefined) url = (JSON.parse(line) as { url: string }).url;
          else if (exited !== undefined) throw new Error(`serve exited ${exited}: ${err.join('')}`);
          else if (Date.now() > deadline) throw new Error(`serve did not start: ${err.join('')}`);
          else await new Promise((r) => setTimeout(r, 50));
        }
        requested.length = 0;
        const res = await attestSgx(
          url,
          simQuoteBytes({ reportData: bindingFor(runtime), platform: 'up-to-date' }, dcap),
          runtime,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const paths = requested.map((p) => p.replace(/\?.*$/, '')).sort();
        assert.deepEqual(paths, [
          '/sgx/certification/v4/pckcrl',
          '/sgx/certification/v4/qe/identity',
          '/sgx/certification/v4/rootcacrl',
          '/sgx/certification/v4/tcb',
        ]);
      } finally {
        abort.abort(new Error('test done'));
        await done;
      }
    });
  }

  test('a URL in no accepted form, or PCS flags with offline collateral: exit 2 at start', async () => {
    const bundle = join(workDir, 'bundle.json');
    writeFileSync(bundle, '{}');
    for (const [args, message] of [
      [['--collateral', `${pcs.url}/sgx/certification/v4/sgx/certification/v4/`], /ERR_PCS_BASE_URL/],
      [['--collateral', `${pcs.url}/pccs`], /ERR_PCS_BASE_URL/],
      [['--collateral', pcs.url, '--collateral-api', 'intel'], /ERR_PCS_BASE_URL/],
      [['--collateral', bundle, '--root-ca-crl-url', `${pcs.url}/crl`], /apply to a --collateral URL/],
    ] as const) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli([...baseArgs(), ...args], context('bad', new AbortController(), out, err));
      assert.equal(code, 2, args.join(' '));
      assert.match(err.join(''), message, args.join(' '));
    }
  });
});
