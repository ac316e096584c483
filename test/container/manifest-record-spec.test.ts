/**
 * Specification of app.sig's record of the manifest file (`manifestFile`, src/container/manifest.ts
 * and identity.ts): `container prepare` keeps the SHA-256 of the file's bytes and what they parse
 * to; `loadManifest` takes that document instead of parsing the file again only while the file's
 * bytes have that SHA-256; `decodeAppSig` checks the record's shape and that its document is a valid
 * manifest. (What a rewritten record can and cannot do to a launch: launch-checks.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  canonicalManifest,
  decodeAppSig,
  encodeAppSig,
  loadManifest,
  manifestFileRecord,
  MAX_MANIFEST_BYTES,
  parseManifest,
  prepareApp,
  type LoadedManifest,
} from '../../src/container/index.ts';
import { signingKey } from './support.ts';

const base = mkdtempSync(join(tmpdir(), 'ccnodes-manifest-record-'));
after(() => {
  rmSync(base, { recursive: true, force: true });
});
writeFileSync(join(base, 'main.sh'), 'echo hi\n');
const yamlText = [
  '# a comment, which the record does not keep',
  'name: rec',
  'entrypoint: [sh, main.sh, "--flag=1"]',
  'env:',
  '  passThrough: [PATH]',
  '  set: { MODE: "0b11", LEVEL: "07" }',
  'trustedFiles: [main.sh]',
  'secrets:',
  '  - { name: db, env: DB_PASSWORD }',
  'attestation:',
  '  url: https://attest.example:8443',
  'isvSvn: 3',
  '',
].join('\n');
const manifestPath = join(base, 'app.yaml');
writeFileSync(manifestPath, yamlText);
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

test('loadManifest gives the SHA-256 of the bytes read and their parsed document', async () => {
  const loaded = await loadManifest(manifestPath);
  assert.equal(loaded.file?.sha256, sha256(readFileSync(manifestPath)));
  assert.deepEqual(loaded.file.document, {
    name: 'rec',
    entrypoint: ['sh', 'main.sh', '--flag=1'],
    env: { passThrough: ['PATH'], set: { MODE: '0b11', LEVEL: '07' } },
    trustedFiles: ['main.sh'],
    secrets: [{ name: 'db', env: 'DB_PASSWORD' }],
    attestation: { url: 'https://attest.example:8443' },
    isvSvn: 3,
  });
  assert.equal(loaded.fromRecord, false);
});

test('prepare records the manifest file in app.sig; encode and decode keep it', async () => {
  const { sig } = await prepareApp(await loadManifest(manifestPath), signingKey());
  assert.equal(sig.manifestFile?.sha256, sha256(yamlText));
  const decoded = decodeAppSig(encodeAppSig(sig));
  assert.deepEqual(decoded.manifestFile, sig.manifestFile);
  // An app.sig without the record (as written before it existed) is still valid.
  const { manifestFile: _dropped, ...without } = sig;
  assert.equal(decodeAppSig(encodeAppSig(without)).manifestFile, undefined);
  assert.doesNotMatch(encodeAppSig(without), /manifestFile/);
});

test('with the record of the same bytes, the document is taken from it: the same manifest as parsing the file', async () => {
  const parsed = await loadManifest(manifestPath);
  const record = manifestFileRecord(parsed);
  assert.ok(record !== undefined);
  // A record whose document differs only where parsing cannot tell (the record is what counts).
  const marked = { ...record, document: { ...(record.document as object), isvSvn: 4 } };
  const fromRecord = await loadManifest(manifestPath, { recorded: marked });
  assert.equal(fromRecord.fromRecord, true);
  assert.equal(fromRecord.manifest.isvSvn, 4);
  const same = await loadManifest(manifestPath, { recorded: record });
  assert.equal(same.fromRecord, true);
  assert.deepEqual(same.manifest, parsed.manifest);
  assert.deepEqual(same.file, parsed.file);
});

test('with a record of other bytes (a comment changed), the file is parsed and the record ignored', async () => {
  const record = manifestFileRecord(await loadManifest(manifestPath));
  assert.ok(record !== undefined);
  const edited = join(base, 'edited.yaml');
  writeFileSync(edited, yamlText.replace('# a comment', '# another comment'));
  const stale = { ...record, document: { ...(record.document as object), isvSvn: 4 } };
  const loaded = await loadManifest(edited, { recorded: stale });
  assert.equal(loaded.fromRecord, false);
  assert.equal(loaded.manifest.isvSvn, 3);
  assert.equal(loaded.file?.sha256, sha256(readFileSync(edited)));
});

test('with the record, an attestation.ca file is still read: a changed CA changes the manifest, and so its measurement', async () => {
  const cert = (body: string): string => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  writeFileSync(join(base, 'ca.pem'), cert('MIIB'));
  const withCa = join(base, 'with-ca.yaml');
  writeFileSync(
    withCa,
    yamlText.replace(
      '  url: https://attest.example:8443\n',
      '  url: https://attest.example:8443\n  ca: ca.pem\n',
    ),
  );
  const first = await loadManifest(withCa);
  const record = manifestFileRecord(first);
  assert.ok(record !== undefined);
  // The record keeps the path as written, not the PEM it named.
  assert.equal((record.document as { attestation: { ca: string } }).attestation.ca, 'ca.pem');
  writeFileSync(join(base, 'ca.pem'), cert('MIIC'));
  const again = await loadManifest(withCa, { recorded: record });
  assert.equal(again.fromRecord, true);
  assert.equal(again.manifest.attestation.ca, cert('MIIC'));
  assert.notEqual(canonicalManifest(again.manifest), canonicalManifest(first.manifest));
});

test('a record is only kept when the document survives JSON unchanged and fits the manifest bound', () => {
  const manifest = parseManifest(yamlText);
  const at = { manifest, path: manifestPath, baseDir: base };
  assert.equal(manifestFileRecord(at), undefined, 'no file read: nothing to record');
  const doc = (extra: Record<string, unknown>): LoadedManifest => ({
    ...at,
    file: {
      sha256: 'a'.repeat(64),
      document: { name: 'x', entrypoint: ['true'], trustedFiles: ['x'], ...extra },
    },
  });
  assert.deepEqual(manifestFileRecord(doc({}))?.document, {
    name: 'x',
    entrypoint: ['true'],
    trustedFiles: ['x'],
  });
  // JSON cannot write a BigInt: no record (the launcher parses the file).
  assert.equal(manifestFileRecord(doc({ isvSvn: 1n })), undefined);
  // A document that is not a valid manifest is not recorded either.
  assert.equal(manifestFileRecord(doc({ entrypoint: [] })), undefined);
  // Larger than a manifest may be.
  const big = 'v'.repeat(MAX_MANIFEST_BYTES);
  assert.equal(manifestFileRecord(doc({ env: { set: { BIG: big } } })), undefined);
});

test('app.sig: manifestFile must be { sha256 (64 lower-case hex), document (a valid manifest) }', async () => {
  const { sig } = await prepareApp(await loadManifest(manifestPath), signingKey());
  const text = (record: unknown): string => {
    const o = JSON.parse(encodeAppSig(sig)) as Record<string, unknown>;
    o['manifestFile'] = record;
    return JSON.stringify(o);
  };
  const refused = (record: unknown, field: string, message: RegExp): void => {
    assert.throws(
      () => decodeAppSig(text(record)),
      (e: { code?: string; details?: { field?: string }; message: string }) =>
        e.code === 'ERR_CONTAINER_SIG' && e.details?.field === field && message.test(e.message),
      `${JSON.stringify(record).slice(0, 80)} → ${field}`,
    );
  };
  const good = sig.manifestFile;
  assert.ok(good !== undefined);
  refused([good], 'manifestFile', /must be \{ sha256, document \}/);
  refused(null, 'manifestFile', /must be \{ sha256, document \}/);
  refused({ ...good, extra: 1 }, 'manifestFile.extra', /unknown field/);
  refused({ ...good, sha256: good.sha256.toUpperCase() }, 'manifestFile.sha256', /64 lower-case hex/);
  refused({ document: good.document }, 'manifestFile.sha256', /64 lower-case hex/);
  refused(
    { ...good, document: { name: 'rec' } },
    'manifestFile.document',
    /not a valid manifest: entrypoint/,
  );
  refused(
    { ...good, document: { ...(good.document as object), extra: true } },
    'manifestFile.document',
    /extra: unknown field/,
  );
  assert.deepEqual(decodeAppSig(text(good)).manifestFile, good);
  // A hostile document nested 100,000 deep (well within app.sig's size bound): refused, naming the
  // field, without a stack overflow.
  const deep = text({ ...good, document: 0 }).replace(
    '"document":0',
    `"document":${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  );
  assert.ok(deep.length > 200_000, 'the nested document is in the text');
  assert.throws(
    () => decodeAppSig(deep),
    (e: { code?: string; details?: { field?: string } }) =>
      e.code === 'ERR_CONTAINER_SIG' && e.details?.field === 'manifestFile.document',
  );
});
