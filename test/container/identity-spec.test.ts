/**
 * Specification of a container's enclave identity and of app.sig (src/container/identity.ts): the
 * fixed enclave definition, the measured trusted-file list, the release policy that pins it, what
 * `prepareApp` records, and every check `decodeAppSig` makes before trusting an app.sig.
 * (Also the mutation-testing spec of identity.ts.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  canonicalManifest,
  ContainerSigError,
  decodeAppSig,
  encodeAppSig,
  identityDefinition,
  LAUNCHER_RUNTIME_ID,
  measureIdentity,
  prepareApp,
  readAppSig,
  releasePolicyFor,
  SIG_FORMAT,
  trustedFilesJson,
  validateManifest,
  type AppSig,
  type LoadedManifest,
} from '../../src/container/index.ts';
import { signingKey } from './support.ts';

const base = mkdtempSync(join(tmpdir(), 'ccnodes-identity-spec-'));
after(() => {
  rmSync(base, { recursive: true, force: true });
});
writeFileSync(join(base, 'main.js'), 'console.log(1)\n');
writeFileSync(join(base, 'b.js'), 'b\n');

const manifest = (fields: Record<string, unknown> = {}): ReturnType<typeof validateManifest> =>
  validateManifest({
    name: 'app',
    entrypoint: ['node', 'main.js'],
    trustedFiles: ['main.js', 'b.js'],
    ...fields,
  });
const loaded = (fields: Record<string, unknown> = {}): LoadedManifest => ({
  manifest: manifest(fields),
  path: join(base, 'app.yaml'),
  baseDir: base,
});

let sig: AppSig;
let sigMax: AppSig;
before(async () => {
  sig = (await prepareApp(loaded(), signingKey())).sig;
  sigMax = (await prepareApp(loaded({ isvProdId: 65535, isvSvn: 65535 }), signingKey())).sig;
});

test('the enclave definition: cc-<name>, SECS.SIZE the next power of two of epcMiB MiB, production mode, the manifest ISV values', () => {
  const MiB = 1024n * 1024n;
  const def = identityDefinition(manifest({ isvProdId: 9, isvSvn: 4 }));
  assert.equal(def.name, 'cc-app');
  assert.equal(def.enclaveSize, 64n * MiB);
  assert.equal(def.debug, false);
  assert.equal(def.isvProdId, 9);
  assert.equal(def.isvSvn, 4);
  assert.equal(identityDefinition(manifest({ epcMiB: 1 })).enclaveSize, 1n * MiB);
  assert.equal(identityDefinition(manifest({ epcMiB: 65 })).enclaveSize, 128n * MiB);
  assert.equal(identityDefinition(manifest({ epcMiB: 128 })).enclaveSize, 128n * MiB);
});

test('the measured trusted-file list is sorted by path and carries only path, sha256 and size', () => {
  const f = (path: string): { path: string; sha256: string; size: number; extra: string } => ({
    path,
    sha256: 'ab'.repeat(32),
    size: 3,
    extra: 'not measured',
  });
  const json = trustedFilesJson([f('lib/z.js'), f('a.js'), f('lib/a.js'), f('B.js')]);
  assert.deepEqual(
    JSON.parse(json),
    ['B.js', 'a.js', 'lib/a.js', 'lib/z.js'].map((path) => ({ path, sha256: 'ab'.repeat(32), size: 3 })),
  );
  assert.equal(trustedFilesJson([f('b'), f('a')]), trustedFilesJson([f('a'), f('b')]));
});

test('the release policy pins the MRENCLAVE, a non-debuggable enclave, and the authority when given', () => {
  const allOf = [
    { claim: 'x-ms-sgx-mrenclave', equals: 'cd'.repeat(32) },
    { claim: 'x-ms-sgx-is-debuggable', equals: false },
  ];
  assert.deepEqual(releasePolicyFor({ mrenclave: 'cd'.repeat(32) }), {
    version: '1.0.0',
    anyOf: [{ allOf }],
  });
  assert.deepEqual(releasePolicyFor({ mrenclave: 'cd'.repeat(32) }, 'https://as.example'), {
    version: '1.0.0',
    anyOf: [{ authority: 'https://as.example', allOf }],
  });
});

test('prepareApp records the identity: MRENCLAVE as measured, the manifest hash, the runtime, the hashed files', () => {
  const m = manifest();
  assert.equal(sig.format, SIG_FORMAT);
  assert.equal(sig.name, 'app');
  assert.equal(sig.mrenclave, measureIdentity(m, sig.trustedFiles));
  assert.match(sig.mrsigner, /^[0-9a-f]{64}$/);
  assert.equal(sig.manifestSha256, createHash('sha256').update(canonicalManifest(m)).digest('hex'));
  assert.equal(sig.runtime, LAUNCHER_RUNTIME_ID);
  assert.deepEqual(
    sig.trustedFiles.map((f) => f.path),
    ['b.js', 'main.js'],
  );
  assert.equal(sigMax.isvProdId, 65535);
  assert.equal(sigMax.isvSvn, 65535);
  assert.deepEqual(decodeAppSig(encodeAppSig(sig)), sig);
  assert.deepEqual(decodeAppSig(encodeAppSig(sigMax)), sigMax);
});

test('a signing key that is not RSA-3072 with e = 3 is ERR_CONTAINER_SIGNING_KEY', async () => {
  await assert.rejects(prepareApp(loaded(), 'not a key'), (err: unknown) => {
    assert.ok(err instanceof ContainerSigError);
    assert.equal(err.code, 'ERR_CONTAINER_SIGNING_KEY');
    assert.ok(err.cause instanceof Error);
    return true;
  });
});

test('prepareApp refuses a trusted-file pattern that matches nothing', async () => {
  await assert.rejects(prepareApp(loaded({ trustedFiles: ['main.js', 'lib/*.js'] }), signingKey()), {
    code: 'ERR_CONTAINER_TRUSTED_FILE',
  });
});

/** The field decodeAppSig names when refusing `change(app.sig as JSON)`. */
function refusedField(change: (o: Record<string, unknown>) => unknown, from: AppSig = sig): string {
  const o = JSON.parse(encodeAppSig(from)) as Record<string, unknown>;
  try {
    const replaced = change(o);
    decodeAppSig(JSON.stringify(replaced === undefined ? o : replaced));
  } catch (err) {
    assert.ok(err instanceof ContainerSigError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_SIG');
    return String(err.details['field']);
  }
  assert.fail('accepted');
}

const accepted = (change: (o: Record<string, unknown>) => void, from: AppSig = sig): AppSig => {
  const o = JSON.parse(encodeAppSig(from)) as Record<string, unknown>;
  change(o);
  return decodeAppSig(JSON.stringify(o));
};

test('app.sig: the document must be a JSON object with only the known fields and the format tag', () => {
  assert.throws(
    () => decodeAppSig('{'),
    (err: unknown) => {
      assert.ok(err instanceof ContainerSigError);
      assert.equal(err.code, 'ERR_CONTAINER_SIG');
      assert.equal(err.details['field'], '(root)');
      assert.ok(err.cause instanceof SyntaxError, 'the JSON parse error is the cause');
      return true;
    },
  );
  for (const root of [[], 'x', null])
    assert.equal(
      refusedField(() => root),
      '(root)',
      JSON.stringify(root),
    );
  assert.equal(
    refusedField((o) => {
      o['extra'] = 1;
    }),
    'extra',
  );
  assert.equal(
    refusedField((o) => {
      o['format'] = 'ccnodes-container-sig/2';
    }),
    'format',
  );
});

test('app.sig: name is 1 to 48 characters; runtime is a string', () => {
  assert.equal(accepted((o) => (o['name'] = 'n'.repeat(48))).name, 'n'.repeat(48));
  for (const name of ['', 'n'.repeat(49), 7])
    assert.equal(
      refusedField((o) => {
        o['name'] = name;
      }),
      'name',
    );
  assert.equal(
    refusedField((o) => {
      o['runtime'] = 1;
    }),
    'runtime',
  );
});

test('app.sig: each trusted file is { path, sha256 (64 lower-case hex), size (a non-negative safe integer) }', () => {
  const good = { path: 'x', sha256: 'ab'.repeat(32), size: 0 };
  assert.deepEqual(accepted((o) => (o['trustedFiles'] = [{ ...good, extra: 1 }])).trustedFiles, [good]);
  assert.equal(
    refusedField((o) => {
      o['trustedFiles'] = 'x';
    }),
    'trustedFiles',
  );
  for (const bad of [
    null,
    'x',
    { ...good, path: 1 },
    { ...good, sha256: 1 },
    { ...good, sha256: 'AB'.repeat(32) },
    { ...good, sha256: 'ab'.repeat(31) },
    { ...good, size: '1' },
    { ...good, size: 1.5 },
    { ...good, size: 2 ** 53 },
    { ...good, size: -1 },
  ])
    assert.equal(
      refusedField((o) => {
        o['trustedFiles'] = [good, bad];
      }),
      'trustedFiles[1]',
      JSON.stringify(bad),
    );
});

test('app.sig: the SIGSTRUCT is 1808 bytes of base64 with a valid signature', () => {
  for (const ss of [undefined, 1, Buffer.alloc(1807).toString('base64')])
    assert.equal(
      refusedField((o) => {
        o['sigstruct'] = ss;
      }),
      'sigstruct',
    );
  const tampered = Buffer.from(sig.sigstruct);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1; // inside the signed body
  assert.equal(
    refusedField((o) => {
      o['sigstruct'] = tampered.toString('base64');
    }),
    'sigstruct',
  );
});

test('app.sig: MRENCLAVE, MRSIGNER, manifest hash are 64 lower-case hex digits; ISV values 0..65535', () => {
  for (const k of ['mrenclave', 'mrsigner', 'manifestSha256'])
    for (const v of ['AB'.repeat(32), 'ab'.repeat(31), 1])
      assert.equal(
        refusedField((o) => {
          o[k] = v;
        }),
        k,
      );
  for (const k of ['isvProdId', 'isvSvn'])
    for (const v of [-1, 65536, 1.5, '1'])
      assert.equal(
        refusedField((o) => {
          o[k] = v;
        }, sigMax),
        k,
        `${k} ${JSON.stringify(v)}`,
      );
});

test('app.sig: field shapes are checked before the SIGSTRUCT signature (the first bad field is named)', () => {
  const tampered = Buffer.from(sig.sigstruct);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  for (const k of ['isvProdId', 'isvSvn'])
    for (const v of [-1, 65536, 1.5, '1'])
      assert.equal(
        refusedField((o) => {
          o['sigstruct'] = tampered.toString('base64');
          o[k] = v;
        }),
        k,
        `${k} ${JSON.stringify(v)}`,
      );
});

test('app.sig: a SIGSTRUCT of the wrong size is named before the identity fields are read', () => {
  assert.equal(
    refusedField((o) => {
      o['sigstruct'] = Buffer.alloc(1807).toString('base64');
      o['mrenclave'] = 'not hex';
    }),
    'sigstruct',
  );
});

test("app.sig: MRENCLAVE, MRSIGNER, ISVPRODID and ISVSVN must be the SIGSTRUCT's", () => {
  assert.equal(sig.isvProdId, 0);
  for (const [k, v] of [
    ['mrenclave', '00'.repeat(32)],
    ['mrsigner', '00'.repeat(32)],
    ['isvProdId', 1],
    ['isvSvn', 1],
  ] as const)
    assert.equal(
      refusedField((o) => {
        o[k] = v;
      }),
      k,
    );
  // The manifest hash and trusted files are not in the SIGSTRUCT: they are checked against the files
  // at launch, not here.
  assert.equal(accepted((o) => (o['manifestSha256'] = '00'.repeat(32))).manifestSha256, '00'.repeat(32));
});

test('readAppSig: a missing file is ERR_CONTAINER_SIG naming the file; a present one is decoded', async () => {
  const path = join(base, 'app.sig');
  writeFileSync(path, encodeAppSig(sig));
  assert.deepEqual(await readAppSig(path), sig);
  await assert.rejects(readAppSig(join(base, 'none.sig')), (err: unknown) => {
    assert.ok(err instanceof ContainerSigError);
    assert.equal(err.code, 'ERR_CONTAINER_SIG');
    assert.equal(err.details['field'], '(file)');
    return true;
  });
});
