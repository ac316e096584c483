/**
 * Start-up of `ccnodes container run` (issue 14: launch overhead): importing the container and
 * simulation modules loads neither the X.509 libraries nor the YAML parser. `@peculiar/x509` (and
 * the ASN.1 schemas behind it) loads when the simulated PKI first builds a certificate, `yaml` when
 * the first YAML text is parsed; a JSON manifest never needs it. Checked in a fresh process, since
 * this test runner may have loaded either already.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));
const url = (p: string): string => new URL(p, new URL('../../', import.meta.url)).href;

const script = `
import { createRequire } from 'node:module';
const cache = createRequire(${JSON.stringify(`${root}package.json`)}).cache;
const loaded = (pkg) => Object.keys(cache).some((k) => k.includes('/node_modules/' + pkg + '/'));
const state = () => ({ x509: loaded('@peculiar/x509'), asn1: loaded('@peculiar/asn1-x509'), yaml: loaded('yaml') });
const container = await import(${JSON.stringify(url('src/container/index.ts'))});
const sim = await import(${JSON.stringify(url('src/sim/index.ts'))});
const out = { imported: state() };
container.parseManifest(JSON.stringify({ name: 'a', entrypoint: ['true'], trustedFiles: ['x'] }));
out.afterJson = state();
const yamlManifest = container.parseManifest('name: a\\nentrypoint: ["true"]\\ntrustedFiles: [x]\\n');
out.yamlName = yamlManifest.name;
out.afterYaml = state();
const pki = sim.createSimPki({ seed: 'lazy-deps' });
out.rootCn = pki.root.x509.subjectName.getField('CN')[0];
out.afterPki = state();
process.stdout.write(JSON.stringify(out));
`;

test('the X.509 libraries and the YAML parser load on first use, not at import', async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, timeout: 120_000 },
      (err, out, errText) => {
        if (err !== null) reject(new Error(`${err.message}\n${errText}`));
        else resolve(out);
      },
    );
  });
  const r = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(r['imported'], { x509: false, asn1: false, yaml: false });
  assert.deepEqual(r['afterJson'], { x509: false, asn1: false, yaml: false });
  assert.equal(r['yamlName'], 'a');
  assert.deepEqual(r['afterYaml'], { x509: false, asn1: false, yaml: true });
  assert.equal(r['rootCn'], 'ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)');
  assert.deepEqual(r['afterPki'], { x509: true, asn1: true, yaml: true });
});
