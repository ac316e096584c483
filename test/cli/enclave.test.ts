/** `ccnodes enclave measure|sign|sigstruct|keygen`: output, files written, exit codes 0/1/2. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from '../support/cli.ts';
import { loadEnclaveImage, measureEnclave } from '../../src/sim/index.ts';
import { REPO_ROOT, testdataPath, testdataSkip } from '../support/testdata.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-enclave-cli-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
cpSync(join(REPO_ROOT, 'examples', 'hello-enclave'), join(dir, 'hello'), { recursive: true });
const DEF = join(dir, 'hello', 'enclave.yaml');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCapture(argv, { cwd: dir });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('ccnodes enclave', () => {
  test('keygen writes a 0600 RSA-3072 e=3 key and refuses to overwrite without --force', async () => {
    const r = await run('enclave', 'keygen', '-o', 'signer.pem', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { mrSigner: string };
    assert.match(j.mrSigner, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir, 'signer.pem')).mode & 0o777, 0o600);
    const again = await run('enclave', 'keygen', '-o', 'signer.pem');
    assert.equal(again.code, 2);
    assert.match(again.err, /ERR_USAGE/);
    assert.equal((await run('enclave', 'keygen', '-o', 'signer.pem', '--force')).code, 0);
  });

  test('measure prints the MRENCLAVE of the definition and writes the measurement log', async () => {
    const r = await run('enclave', 'measure', DEF, '--json', '--log', 'hello.sgxs');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { mrEnclave: string; pages: { measured: number } };
    assert.equal(j.mrEnclave, hex(measureEnclave(await loadEnclaveImage(DEF)).mrEnclave));
    assert.equal(
      createHash('sha256')
        .update(readFileSync(join(dir, 'hello.sgxs')))
        .digest('hex'),
      j.mrEnclave,
    );
    const text = await run('enclave', 'measure', DEF);
    assert.equal(text.code, 0);
    assert.match(text.out, new RegExp(`MRENCLAVE\\s+${j.mrEnclave}`));
  });

  test('sign, then sigstruct verifies it and matches the definition; a tampered copy exits 1', async () => {
    assert.equal((await run('enclave', 'keygen', '-o', 'k.pem')).code, 0);
    const s = await run('enclave', 'sign', '--key', 'k.pem', DEF, '-o', 'hello.sig', '--json');
    assert.equal(s.code, 0, s.err);
    const signed = JSON.parse(s.out) as { mrEnclave: string; mrSigner: string; date: string };
    assert.equal(signed.date, '2026-01-01');
    const v = await run('enclave', 'sigstruct', 'hello.sig', '--definition', DEF, '--json');
    assert.equal(v.code, 0, v.err);
    const j = JSON.parse(v.out) as {
      ok: boolean;
      mrEnclave: string;
      mrSigner: string;
      enclaveHashMatches: boolean;
    };
    assert.deepEqual(
      [j.ok, j.mrEnclave, j.mrSigner, j.enclaveHashMatches],
      [true, signed.mrEnclave, signed.mrSigner, true],
    );

    const bad = readFileSync(join(dir, 'hello.sig'));
    bad[1026] = (bad[1026] as number) ^ 1; // ISVSVN, a signed field
    writeFileSync(join(dir, 'bad.sig'), bad);
    const t = await run('enclave', 'sigstruct', 'bad.sig', '--json');
    assert.equal(t.code, 1);
    const tj = JSON.parse(t.out) as { ok: boolean; signature: { valid: boolean; error: { code: string } } };
    assert.equal(tj.signature.error.code, 'ERR_SIGSTRUCT_SIGNATURE');
    assert.match((await run('enclave', 'sigstruct', 'bad.sig')).out, /INVALID/);

    // The definition changed after signing: ENCLAVEHASH no longer matches.
    writeFileSync(
      join(dir, 'hello', 'main.js'),
      `${readFileSync(join(dir, 'hello', 'main.js'), 'utf8')}// v2\n`,
    );
    const m = await run('enclave', 'sigstruct', 'hello.sig', '--definition', DEF);
    assert.equal(m.code, 1);
    assert.match(m.out, /DIFFERS/);
  });

  test('invalid inputs exit 2 with the error code', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: x\nenclaveSize: 12K\nentry: a.js\nfiles: [a.js]\n');
    const d = await run('enclave', 'measure', 'bad.yaml', '--json');
    assert.equal(d.code, 2);
    assert.equal(
      (JSON.parse(d.out) as { error: { code: string; details: { field: string } } }).error.details.field,
      'enclaveSize',
    );
    assert.match(d.err, /ERR_ENCLAVE_DEFINITION/);
    writeFileSync(join(dir, 'nofile.yaml'), 'name: x\nenclaveSize: 64K\nentry: a.js\nfiles: [a.js]\n');
    assert.match((await run('enclave', 'measure', 'nofile.yaml')).err, /ERR_ENCLAVE_FILE/);
    writeFileSync(join(dir, 'short.sig'), new Uint8Array(100));
    const s = await run('enclave', 'sigstruct', 'short.sig');
    assert.equal(s.code, 2);
    assert.match(s.err, /ERR_FORMAT/);
    assert.equal((await run('enclave', 'sigstruct', 'missing.sig')).code, 2);
    const weak = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(join(dir, 'weak.pem'), weak);
    const w = await run('enclave', 'sign', '--key', 'weak.pem', DEF, '-o', 'x.sig');
    assert.equal(w.code, 2);
    assert.match(w.err, /ERR_SIGSTRUCT_KEY/);
    assert.equal((await run('enclave', 'sign', DEF, '-o', 'x.sig')).code, 2); // --key missing
  });

  test('--help describes every command', async () => {
    for (const cmd of ['measure', 'sign', 'sigstruct', 'keygen']) {
      const r = await run('enclave', cmd, '--help');
      assert.equal(r.code, 0);
      assert.match(r.out, /Usage: ccnodes enclave/);
    }
  });
});

describe('ccnodes enclave sigstruct on real SIGSTRUCTs', { skip: testdataSkip }, () => {
  const expected =
    testdataSkip === false
      ? (
          JSON.parse(readFileSync(testdataPath('sgx', 'expected.json'), 'utf8')) as {
            sigstructs: Record<string, { mrenclave: string; mrsigner: string; isvProdId: number }>;
          }
        ).sigstructs
      : {};
  for (const [name, exp] of Object.entries(expected)) {
    test(name, async () => {
      const r = await run('enclave', 'sigstruct', testdataPath('sgx', name), '--json');
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as {
        mrEnclave: string;
        mrSigner: string;
        sigstruct: { isvProdId: number };
      };
      assert.deepEqual(
        [j.mrEnclave, j.mrSigner, j.sigstruct.isvProdId],
        [exp.mrenclave, exp.mrsigner, exp.isvProdId],
      );
    });
  }
  test('hex text input is accepted', async () => {
    writeFileSync(
      join(dir, 'encl.hex'),
      readFileSync(testdataPath('sgx', 'enarx', 'encl.ss')).toString('hex'),
    );
    const r = await run('enclave', 'sigstruct', 'encl.hex');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /2f9f8fd4fe12d77232f1d87571ca8252ca27714efe7705e46222cffd5a22e8c4/);
  });
});
