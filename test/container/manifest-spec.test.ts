/**
 * Specification of the app manifest beyond manifest.test.ts: length bounds, one destination per
 * secret or input, the sealed-state variable, which text is JSON, and how `loadManifest` reads the
 * file and resolves `attestation.ca`. (Also the mutation-testing spec of manifest.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ContainerManifestError,
  loadManifest,
  parseManifest,
  validateManifest,
} from '../../src/container/index.ts';

const minimal = { name: 'app', entrypoint: ['node', 'main.js'], trustedFiles: ['main.js'] };

function refusal(f: () => unknown, code = 'ERR_CONTAINER_MANIFEST'): ContainerManifestError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ContainerManifestError, String(err));
    assert.equal(err.code, code);
    return err;
  }
  assert.fail('accepted');
}
const fieldOf = (input: unknown): unknown => refusal(() => validateManifest(input)).details['field'];

test('strings are bounded inclusively: a 1024-character working directory is accepted, 1025 is not', () => {
  assert.equal(validateManifest({ ...minimal, workingDir: 'w'.repeat(1024) }).workingDir, 'w'.repeat(1024));
  assert.equal(fieldOf({ ...minimal, workingDir: 'w'.repeat(1025) }), 'workingDir');
});

test('the entrypoint has at most 256 arguments', () => {
  const argv = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${i}`);
  assert.equal(validateManifest({ ...minimal, entrypoint: argv(256) }).entrypoint.length, 256);
  assert.equal(fieldOf({ ...minimal, entrypoint: argv(257) }), 'entrypoint');
});

test('a secret entry that is not an object is named as the entry', () => {
  for (const s of ['x', 7, [], null])
    assert.equal(fieldOf({ ...minimal, secrets: [s] }), 'secrets[0]', JSON.stringify(s));
});

test('encrypted inputs with distinct destinations are accepted', () => {
  const m = validateManifest({
    ...minimal,
    secrets: [{ name: 's', file: 'key.pem' }],
    encryptedInputs: [
      { path: 'a.jwe', keySecret: 'k', file: 'a.csv' },
      { path: 'b.jwe', keySecret: 'k', file: 'b.csv' },
    ],
  });
  assert.deepEqual(
    m.encryptedInputs.map((e) => e.file),
    ['a.csv', 'b.csv'],
  );
  assert.equal(
    fieldOf({
      ...minimal,
      encryptedInputs: [
        { path: 'a.jwe', keySecret: 'k', file: 'a.csv' },
        { path: 'b.jwe', keySecret: 'k', file: 'a.csv' },
      ],
    }),
    'encryptedInputs[1].file',
  );
});

test('the sealed-state variable: its own name when given, and never a variable that is already set or a secret', () => {
  const m = validateManifest({ ...minimal, sealedState: { dir: 'st', env: 'MY_STATE' } });
  assert.deepEqual(m.sealedState, { dir: 'st', policy: 'MRENCLAVE', env: 'MY_STATE' });
  assert.equal(
    fieldOf({ ...minimal, env: { set: { MY_STATE: 'x' } }, sealedState: { dir: 'st', env: 'MY_STATE' } }),
    'sealedState.env',
  );
  assert.equal(
    fieldOf({
      ...minimal,
      secrets: [{ name: 's', env: 'CCNODES_SEALED_STATE_DIR' }],
      sealedState: { dir: 'st' },
    }),
    'sealedState.env',
  );
});

test('text starting with "{" is JSON, not a YAML flow mapping; format selects the parser', () => {
  const flow = '{name: app, entrypoint: [node, main.js], trustedFiles: [main.js]}';
  refusal(() => parseManifest(flow), 'ERR_CONTAINER_MANIFEST_SYNTAX');
  refusal(() => parseManifest(flow, 'json'), 'ERR_CONTAINER_MANIFEST_SYNTAX');
  assert.equal(parseManifest(flow, 'yaml').name, 'app');
  assert.equal(parseManifest(`  \n${JSON.stringify(minimal)}`).name, 'app');
  refusal(() => parseManifest('name: app\n', 'json'), 'ERR_CONTAINER_MANIFEST_SYNTAX');
});

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-manifest-spec-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function write(name: string, content: string): string {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}
const yaml = (extra = ''): string =>
  `name: app\nentrypoint: [node, main.js]\ntrustedFiles: [main.js]\n${extra}`;

test('loadManifest: the path, its directory as the base, and a .json file read as JSON', async () => {
  const l = await loadManifest(write('plain.yaml', yaml()));
  assert.equal(l.path, join(dir, 'plain.yaml'));
  assert.equal(l.baseDir, dir);
  assert.equal(l.manifest.attestation.ca, undefined);
  const flow = write('flow.json', '{name: app, entrypoint: [node, main.js], trustedFiles: [main.js]}');
  await assert.rejects(loadManifest(flow), { code: 'ERR_CONTAINER_MANIFEST_SYNTAX' });
  await assert.rejects(loadManifest(join(dir, 'missing.yaml')), { code: 'ERR_CONTAINER_MANIFEST_IO' });
});

test('loadManifest: attestation.ca as a path is read relative to the manifest and must hold a certificate', async () => {
  write('ca.pem', CERT);
  const l = await loadManifest(write('with-ca.yaml', yaml('attestation: { ca: ca.pem }\n')));
  assert.equal(l.manifest.attestation.ca, CERT);
  write('key.pem', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
  await assert.rejects(
    loadManifest(write('with-key.yaml', yaml('attestation: { ca: key.pem }\n'))),
    (err: unknown) => {
      assert.ok(err instanceof ContainerManifestError);
      assert.equal(err.code, 'ERR_CONTAINER_MANIFEST');
      assert.equal(err.details['field'], 'attestation.ca');
      return true;
    },
  );
  await assert.rejects(
    loadManifest(write('no-ca.yaml', yaml('attestation: { ca: none.pem }\n'))),
    (err: unknown) => {
      assert.ok(err instanceof ContainerManifestError);
      assert.equal(err.code, 'ERR_CONTAINER_MANIFEST_IO');
      assert.equal(err.details['field'], 'attestation.ca');
      return true;
    },
  );
});

test('loadManifest: inline PEM in attestation.ca is kept when it is a certificate, refused otherwise', async () => {
  const inline = (pem: string): string => yaml(`attestation:\n  ca: ${JSON.stringify(pem)}\n`);
  assert.equal((await loadManifest(write('inline.yaml', inline(CERT)))).manifest.attestation.ca, CERT);
  await assert.rejects(
    loadManifest(
      write('inline-key.yaml', inline('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n')),
    ),
    (err: unknown) => {
      assert.ok(err instanceof ContainerManifestError);
      assert.equal(err.code, 'ERR_CONTAINER_MANIFEST');
      assert.equal(err.details['field'], 'attestation.ca');
      return true;
    },
  );
});
