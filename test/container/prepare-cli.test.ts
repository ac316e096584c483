/**
 * `container prepare | inspect | verify | gramine-manifest` through the CLI, and what the identity
 * measures: deterministic, sensitive to every trusted byte and measured manifest field.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import {
  decodeAppSig,
  encodeAppSig,
  IDENTITY_FILES,
  identityImage,
  LAUNCHER_ENCLAVE_SOURCE,
  loadManifest,
  measureIdentity,
  trustedFilesJson,
} from '../../src/container/index.ts';
import { measureEnclave } from '../../src/sim/index.ts';
import { prepareExample, scratch, signingKey, type Scratch } from './support.ts';

let s: Scratch;
let keyPath: string;

before(async () => {
  s = await scratch();
  keyPath = join(s.dir, 'signer.pem');
  await writeFile(keyPath, signingKey(), { mode: 0o600 });
});
after(async () => {
  await s.close();
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const captured = { out: '', err: '' };
  const ctx: CliContext = {
    stdout: (t) => {
      captured.out += t;
    },
    stderr: (t) => {
      captured.err += t;
    },
    env: {},
    cwd: s.dir,
    signal: new AbortController().signal,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, ...captured };
}

test('prepare --json prints MRENCLAVE, MRSIGNER and a release policy; inspect and verify agree', async () => {
  const app = join('examples', 'python-key-reader', 'app.yaml');
  const r = await cli(['container', 'prepare', app, '--key', 'signer.pem', '-o', 'py.sig', '--json']);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as Record<string, unknown>;
  assert.match(String(out['mrenclave']), /^[0-9a-f]{64}$/);
  assert.match(String(out['mrsigner']), /^[0-9a-f]{64}$/);
  assert.deepEqual(out['releasePolicy'], {
    version: '1.0.0',
    anyOf: [
      {
        authority: 'http://127.0.0.1:8443',
        allOf: [
          { claim: 'x-ms-sgx-mrenclave', equals: out['mrenclave'] },
          { claim: 'x-ms-sgx-is-debuggable', equals: false },
        ],
      },
    ],
  });
  const inspect = await cli(['container', 'inspect', 'py.sig', '--json']);
  assert.equal(inspect.code, 0, inspect.err);
  const shown = JSON.parse(inspect.out) as Record<string, unknown>;
  assert.equal(shown['mrenclave'], out['mrenclave']);
  assert.equal(shown['isvProdId'], 2);
  assert.deepEqual(
    (shown['trustedFiles'] as { path: string }[]).map((f) => f.path),
    ['report.txt', 'sign_report.py'],
  );
  const verify = await cli(['container', 'verify', app, 'py.sig']);
  assert.equal(verify.code, 0, verify.err);
  assert.match(verify.out, /verified: 2 trusted files unchanged/);
});

test("inspect shows app.sig's record of the manifest file; verify says whether the file is still the one recorded", async () => {
  // A copy of an example's manifest next to it (its trusted files are relative to it).
  const yamlPath = join('examples', 'shell-report', 'rec.yaml');
  await writeFile(join(s.dir, yamlPath), await readFile(join(s.dir, 'examples', 'shell-report', 'app.yaml')));
  const r = await cli(['container', 'prepare', yamlPath, '--key', 'signer.pem', '-o', 'rec.sig']);
  assert.equal(r.code, 0, r.err);
  const sha = createHash('sha256')
    .update(await readFile(join(s.dir, yamlPath)))
    .digest('hex');
  const inspect = await cli(['container', 'inspect', 'rec.sig', '--json']);
  assert.deepEqual((JSON.parse(inspect.out) as Record<string, unknown>)['manifestFile'], { sha256: sha });
  const human = await cli(['container', 'inspect', 'rec.sig']);
  assert.match(
    human.out,
    new RegExp(`manifest file +sha256 ${sha} \\(recorded: not parsed while unchanged\\)`),
  );
  const verify = async (): Promise<{ state: unknown; human: string }> => {
    const j = await cli(['container', 'verify', yamlPath, 'rec.sig', '--json']);
    assert.equal(j.code, 0, j.out);
    const h = await cli(['container', 'verify', yamlPath, 'rec.sig']);
    assert.equal(h.code, 0, h.out);
    return { state: (JSON.parse(j.out) as Record<string, unknown>)['manifestFile'], human: h.out };
  };
  const asRecorded = await verify();
  assert.equal(asRecorded.state, 'as-recorded');
  assert.doesNotMatch(asRecorded.human, /note:/);
  await appendFile(join(s.dir, yamlPath), '# edited after prepare\n');
  const changed = await verify();
  assert.equal(changed.state, 'changed');
  assert.match(
    changed.human,
    /note: examples\/shell-report\/rec\.yaml is not the file prepare read \(the same identity\): container run parses it/,
  );
  // An app.sig written before the record existed.
  const { manifestFile: _record, ...old } = decodeAppSig(await readFile(join(s.dir, 'rec.sig'), 'utf8'));
  await writeFile(join(s.dir, 'rec.sig'), encodeAppSig(old));
  const notRecorded = await verify();
  assert.equal(notRecorded.state, 'not-recorded');
  assert.match(notRecorded.human, /note: rec\.sig does not record the manifest file/);
  const oldInspect = await cli(['container', 'inspect', 'rec.sig', '--json']);
  assert.equal((JSON.parse(oldInspect.out) as Record<string, unknown>)['manifestFile'], null);
});

test('the identity is deterministic and is exactly the documented three measured files', async () => {
  const a = await prepareExample(s, 'node-db-service', signingKey(), 'det-a');
  const b = await prepareExample(s, 'node-db-service', signingKey(), 'det-b');
  assert.equal(a.sig.mrenclave, b.sig.mrenclave);
  assert.deepEqual(a.sig.sigstruct, b.sig.sigstruct, 'the SIGSTRUCT is deterministic too');
  const loaded = await loadManifest(a.manifest);
  const image = identityImage(loaded.manifest, a.sig.trustedFiles);
  assert.deepEqual(
    [...image.files.keys()],
    [IDENTITY_FILES.runtime, IDENTITY_FILES.manifest, IDENTITY_FILES.trustedFiles],
  );
  assert.equal(
    Buffer.from(image.files.get(IDENTITY_FILES.runtime) ?? []).toString(),
    LAUNCHER_ENCLAVE_SOURCE,
  );
  assert.equal(
    Buffer.from(image.files.get(IDENTITY_FILES.trustedFiles) ?? []).toString(),
    trustedFilesJson(a.sig.trustedFiles),
  );
  assert.equal(Buffer.from(measureEnclave(image).mrEnclave).toString('hex'), a.sig.mrenclave);
  // Each input changes the identity: a trusted byte, a measured manifest field.
  const oneByte = a.sig.trustedFiles.map((f, i) =>
    i === 0 ? { ...f, sha256: `${f.sha256.slice(0, 63)}${f.sha256.endsWith('0') ? '1' : '0'}` } : f,
  );
  assert.notEqual(measureIdentity(loaded.manifest, oneByte), a.sig.mrenclave);
  assert.notEqual(
    measureIdentity({ ...loaded.manifest, isvSvn: loaded.manifest.isvSvn + 1 }, a.sig.trustedFiles),
    a.sig.mrenclave,
  );
  assert.notEqual(
    measureIdentity(
      { ...loaded.manifest, entrypoint: ['node', '--inspect', 'server.js'] },
      a.sig.trustedFiles,
    ),
    a.sig.mrenclave,
  );
  // The service URL is not measured (a replica may serve the same app).
  assert.equal(
    measureIdentity(
      { ...loaded.manifest, attestation: { ...loaded.manifest.attestation, url: 'https://replica.example' } },
      a.sig.trustedFiles,
    ),
    a.sig.mrenclave,
  );
});

test('verify exits 1 and names the file that was modified, removed or added', async () => {
  await prepareExample(s, 'shell-report', signingKey(), 'shell-verify');
  const app = join('examples', 'shell-report', 'app.yaml');
  const dir = join(s.dir, 'examples', 'shell-report');
  const script = join(dir, 'count.sh');
  const original = await readFile(script);

  await appendFile(script, 'echo pwned\n');
  let r = await cli(['container', 'verify', app, 'shell-verify.sig', '--json']);
  assert.equal(r.code, 1);
  let err = (JSON.parse(r.out) as { error: { code: string; details: Record<string, unknown> } }).error;
  assert.equal(err.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED');
  assert.deepEqual(err.details, { path: 'count.sh', change: 'modified' });
  assert.match(r.err, /count\.sh/);

  await rm(script);
  r = await cli(['container', 'verify', app, 'shell-verify.sig', '--json']);
  err = (JSON.parse(r.out) as { error: { code: string; details: Record<string, unknown> } }).error;
  assert.deepEqual(err.details, { path: 'count.sh', change: 'missing' });

  await writeFile(script, original);
  await writeFile(join(dir, 'extra.sh'), 'echo new\n');
  r = await cli(['container', 'verify', app, 'shell-verify.sig', '--json']);
  assert.equal(r.code, 1);
  err = (JSON.parse(r.out) as { error: { code: string; details: Record<string, unknown> } }).error;
  assert.deepEqual(
    err.details,
    { path: 'extra.sh', change: 'added' },
    'a new file matching *.sh is a change',
  );
  await rm(join(dir, 'extra.sh'));
  assert.equal((await cli(['container', 'verify', app, 'shell-verify.sig'])).code, 0);
});

test('a tampered app.sig is refused (ERR_CONTAINER_SIG), bad input exits 2 with the field named', async () => {
  const { sig, sigPath } = await prepareExample(s, 'node-db-service', signingKey(), 'tamper');
  const bad = encodeAppSig({ ...sig, isvSvn: sig.isvSvn + 1 });
  assert.throws(() => decodeAppSig(bad), { code: 'ERR_CONTAINER_SIG' });
  const ss = sig.sigstruct.slice();
  ss[960 + 4] = (ss[960 + 4] ?? 0) ^ 1; // inside the signed body: the RSA signature no longer holds
  await writeFile(sigPath, encodeAppSig({ ...sig, sigstruct: ss }));
  const r = await cli(['container', 'inspect', 'tamper.sig', '--json']);
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.out) as { error: { code: string } }).error.code, 'ERR_CONTAINER_SIG');

  await writeFile(
    join(s.dir, 'broken.yaml'),
    'name: x\nentrypoint: [sh]\ntrustedFiles: [nothing-here.sh]\nsecrets: [{name: a}]\n',
  );
  const m = await cli([
    'container',
    'prepare',
    'broken.yaml',
    '--key',
    'signer.pem',
    '-o',
    'b.sig',
    '--json',
  ]);
  assert.equal(m.code, 2);
  const e = (JSON.parse(m.out) as { error: { code: string; details: Record<string, unknown> } }).error;
  assert.equal(e.code, 'ERR_CONTAINER_MANIFEST');
  assert.equal(e.details['field'], 'secrets[0]');

  await writeFile(join(s.dir, 'nomatch.yaml'), 'name: x\nentrypoint: [sh]\ntrustedFiles: ["*.nothing"]\n');
  const n = await cli([
    'container',
    'prepare',
    'nomatch.yaml',
    '--key',
    'signer.pem',
    '-o',
    'b.sig',
    '--json',
  ]);
  assert.equal(n.code, 2);
  assert.equal(
    (JSON.parse(n.out) as { error: { details: Record<string, unknown> } }).error.details['field'],
    'trustedFiles[0]',
  );

  const { generateKeyPairSync } = await import('node:crypto');
  await writeFile(
    join(s.dir, 'rsa65537.pem'),
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const k = await cli([
    'container',
    'prepare',
    join('examples', 'node-db-service', 'app.yaml'),
    '--key',
    'rsa65537.pem',
    '-o',
    'b.sig',
    '--json',
  ]);
  assert.equal(k.code, 2);
  assert.equal((JSON.parse(k.out) as { error: { code: string } }).error.code, 'ERR_CONTAINER_SIGNING_KEY');
});

test('gramine-manifest renders Gramine manifest syntax from the app manifest', async () => {
  const r = await cli(['container', 'gramine-manifest', join('examples', 'shell-report', 'app.yaml')]);
  assert.equal(r.code, 0, r.err);
  const toml = r.out;
  const line = (re: RegExp): void => {
    assert.match(toml, re);
  };
  line(/^loader\.entrypoint = "file:\{\{ gramine\.libos \}\}"$/m);
  line(/^libos\.entrypoint = "\/usr\/bin\/sh"$/m);
  line(/^loader\.argv = \["\/usr\/bin\/sh", "count\.sh"\]$/m);
  line(/^loader\.env\.INPUT = "\/run\/ccnodes\/input\.csv"$/m);
  line(/^loader\.env\.PATH = \{ passthrough = true \}$/m);
  line(/^loader\.env\.STATE_DIR = "\/run\/ccnodes\/sealed-state"$/m);
  line(/^ {2}\{ type = "tmpfs", path = "\/run\/ccnodes" \},$/m);
  line(
    /^ {2}\{ type = "encrypted", path = "\/run\/ccnodes\/sealed-state", uri = "file:state", key_name = "_sgx_mrenclave" \},$/m,
  );
  line(
    /^ {2}\{ type = "encrypted", path = "\/run\/ccnodes\/input\.csv", uri = "file:input\.csv\.jwe\.pf", key_name = "input-key" \},$/m,
  );
  line(/^sgx\.remote_attestation = "dcap"$/m);
  line(/^sgx\.enclave_size = "256M"$/m);
  line(/^sgx\.isvprodid = 3$/m);
  line(/^sgx\.isvsvn = 1$/m);
  line(/^sgx\.debug = false$/m);
  line(/^ {2}\{ uri = "file:count\.sh", sha256 = "[0-9a-f]{64}" \},$/m);
  line(/secret "report-api-token" -> environment variable API_TOKEN/);
  // Every non-comment line is a TOML key/value, an array item, or a bracket of fs.mounts/sgx.trusted_files.
  for (const l of toml.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    assert.match(l, /^([a-z_]+(\.[A-Za-z0-9_]+)* = .+| {2}.+,|\])$/, l);
  }
  const opens = toml.split('\n').filter((l) => l.endsWith('= [')).length;
  assert.equal(opens, toml.split('\n').filter((l) => l === ']').length, 'arrays are closed');
});

test('run with no platform named (no --sim-seed, --data-dir, CCNODES_DATA_DIR, XDG_DATA_HOME or HOME) is a usage error: exit 2', async () => {
  const r = await cli(['container', 'run', 'app.yaml', '--sig', 'app.sig', '--json']);
  assert.equal(r.code, 2, r.err);
  assert.match(r.out + r.err, /no --data-dir or --sim-seed, and neither CCNODES_DATA_DIR nor HOME is set/);
});
