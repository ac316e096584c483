/**
 * Start-up of `ccnodes container run` (issue 14: launch overhead): the attestation client loads
 * node:https (and node:tls behind it) only when it is given an https URL. Checked in a fresh process
 * (Node's own list of the built-in modules it has loaded), since this test runner may have loaded
 * node:https already.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));
const url = (p: string): string => new URL(p, new URL('../../', import.meta.url)).href;

const script = `
const has = (m) => process.moduleLoadList.includes('NativeModule ' + m);
const { AttestationClient } = await import(${JSON.stringify(url('src/attestation-client/index.ts'))});
const out = { imported: { https: has('https'), tls: has('tls') } };
const plain = new AttestationClient({ url: 'http://127.0.0.1:9/' });
out.httpClient = { https: has('https'), tls: has('tls') };
const secure = new AttestationClient({ url: 'https://127.0.0.1:9/' });
out.httpsClient = { https: has('https'), tls: has('tls') };
await plain.close();
await secure.close();
process.stdout.write(JSON.stringify(out));
`;

test('an http client loads neither node:https nor node:tls; an https client loads them', async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, timeout: 120_000 },
      (err, out, stderr) => {
        if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(out);
      },
    );
  });
  assert.deepEqual(JSON.parse(stdout), {
    imported: { https: false, tls: false },
    httpClient: { https: false, tls: false },
    httpsClient: { https: true, tls: true },
  });
});
