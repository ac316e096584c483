/**
 * `--encoding auto|binary|hex|base64` on every command that reads a quote, a report or a SIGSTRUCT
 * file: listed in --help, unknown values are usage errors (exit 2, one JSON error under --json), an
 * explicit encoding reads only that encoding (typed error naming it and the offset of the first bad
 * character), and `auto` resolves text valid as both hex and base64 the way that fits the input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeQuote } from '../../src/core/index.ts';
import { runCapture } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-encoding-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (...argv: string[]) => runCapture(argv, { cwd: dir });

/** The commands with an input file, and arguments that make them read it (`FILE` is replaced). */
const COMMANDS: readonly (readonly string[])[] = [
  ['quote', 'inspect', 'FILE'],
  ['quote', 'verify', 'FILE', '--collateral', 'none.json'],
  ['sim', 'quote', '--seed', 'enc', '--report-body', 'FILE', '-o', 'q.bin', '--collateral-out', 'c.json'],
  ['enclave', 'sigstruct', 'FILE'],
];

interface JsonError {
  ok: false;
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('--encoding', () => {
  for (const argv of COMMANDS) {
    const name = `${argv[0]} ${argv[1]}`;

    test(`${name}: --help lists --encoding and its values`, async () => {
      const r = await run(argv[0]!, argv[1]!, '--help');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--encoding <encoding>/);
      assert.match(r.stdout, /auto\b.*binary.*hex.*base64/s);
    });

    test(`${name}: an unknown value is a usage error (exit 2), one JSON error object under --json`, async () => {
      writeFileSync(join(dir, 'x.txt'), '00');
      const args = argv.map((a) => (a === 'FILE' ? 'x.txt' : a));
      const r = await run(...args, '--encoding', 'base32');
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /--encoding: expected one of auto, binary, hex, base64, got "base32" \(ERR_USAGE\)/,
      );
      const j = await run(...args, '--encoding', 'base32', '--json');
      assert.equal(j.code, 2, j.stderr);
      const doc = JSON.parse(j.stdout) as JsonError;
      assert.equal(doc.ok, false);
      assert.equal(doc.error.code, 'ERR_USAGE');
      assert.equal(doc.error.details['option'], '--encoding');
    });

    test(`${name}: --encoding hex on text with a stray character names hex and its offset`, async () => {
      writeFileSync(join(dir, 'bad.hex'), `0x0300\n02zz00`);
      const args = argv.map((a) => (a === 'FILE' ? 'bad.hex' : a));
      const r = await run(...args, '--encoding', 'hex', '--json');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /not valid hex: "z" is not a hex digit at byte offset 9/);
      const doc = JSON.parse(r.stdout) as JsonError;
      assert.equal(doc.error.details['encoding'], 'hex');
      assert.equal(doc.error.details['offset'], 9);
    });
  }

  test('sim quote --report-body: zero report body in base64 ("AAAA…", also hex) is read as base64', async () => {
    // 384 zero bytes are 512 "A"s in base64: valid hex too, but hex would give 256 bytes.
    const body = new Uint8Array(384);
    writeFileSync(join(dir, 'zero.b64'), Buffer.from(body).toString('base64'));
    const base = ['sim', 'quote', '--seed', 'enc', '--report-body', 'zero.b64', '--collateral-out', 'z.json'];
    const auto = await run(...base, '-o', 'z-auto.bin');
    assert.equal(auto.code, 0, auto.stderr);
    const quote = decodeQuote(new Uint8Array(readFileSync(join(dir, 'z-auto.bin'))));
    assert.deepEqual(quote.signedData.subarray(48), body);
    const explicit = await run(...base, '-o', 'z-b64.bin', '--encoding', 'base64');
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.deepEqual(readFileSync(join(dir, 'z-b64.bin')).subarray(48, 432), Buffer.from(body));
    // Asked to read it as hex, it is 256 bytes: refused by the length check.
    const hex = await run(...base, '-o', 'z-hex.bin', '--encoding', 'hex');
    assert.equal(hex.code, 2);
    assert.match(hex.stderr, /expected a 384-byte report body or 432-byte report, got 256 bytes/);
  });

  test('sim quote --report-body --encoding binary takes the file as it is', async () => {
    const body = Buffer.alloc(384, 0x41); // all "A": text, but binary was asked for
    writeFileSync(join(dir, 'aaaa.bin'), body);
    const base = ['sim', 'quote', '--seed', 'enc', '--report-body', 'aaaa.bin', '--collateral-out', 'a.json'];
    const r = await run(...base, '-o', 'a.bin', '--encoding', 'binary');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(join(dir, 'a.bin')).subarray(48, 432), body);
    // auto: 384 "A"s are hex (192 bytes) and base64 (288 bytes): neither is a report.
    assert.equal((await run(...base, '-o', 'a2.bin')).code, 2);
  });
});

describe('--encoding on real quotes and SIGSTRUCTs', { skip: testdataSkip }, () => {
  const quotePath = testdataSkip === false ? testdataPath('dcap', 'phala-dcap-qvl/sgx_quote') : '';

  before(() => {
    const bin = readFileSync(quotePath);
    writeFileSync(join(dir, 'q.bin'), bin);
    writeFileSync(join(dir, 'q.hex'), bin.toString('hex'));
    writeFileSync(join(dir, 'q.b64'), bin.toString('base64'));
    writeFileSync(join(dir, 'q.b64url'), bin.toString('base64url'));
  });

  test('quote inspect: each explicit encoding reads its own form; the table says what was read', async () => {
    const ref = await run('quote', 'inspect', 'q.bin', '--json');
    assert.equal(ref.code, 0, ref.stderr);
    const { inputEncoding, ...fields } = JSON.parse(ref.stdout) as Record<string, unknown>;
    assert.equal(inputEncoding, 'binary');
    for (const [file, encoding, detected] of [
      ['q.bin', 'binary', 'binary'],
      ['q.hex', 'hex', 'hex'],
      ['q.b64', 'base64', 'base64'],
      ['q.b64url', 'base64', 'base64url'],
    ] as const) {
      const r = await run('quote', 'inspect', file, '--encoding', encoding, '--json');
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), { inputEncoding: detected, ...fields }, file);
    }
    assert.match((await run('quote', 'inspect', 'q.hex')).stdout, /^ {2}encoding +hex \(detected\)$/m);
    assert.match(
      (await run('quote', 'inspect', 'q.b64', '--encoding', 'base64')).stdout,
      /^ {2}encoding +base64$/m,
    );
  });

  test('quote inspect: a form other than the one asked for is refused with the offset', async () => {
    // The binary quote starts with 0x03: not a hex digit at offset 0.
    const asHex = await run('quote', 'inspect', 'q.bin', '--encoding', 'hex', '--json');
    assert.equal(asHex.code, 2);
    const doc = JSON.parse(asHex.stdout) as JsonError;
    assert.equal(doc.error.code, 'ERR_FORMAT_ENCODING');
    assert.deepEqual([doc.error.details['encoding'], doc.error.details['offset']], ['hex', 0]);
    // Base64 of this quote has a non-hex letter early on ("AwAC…": "w" at offset 1).
    const b64AsHex = await run('quote', 'inspect', 'q.b64', '--encoding', 'hex');
    assert.equal(b64AsHex.code, 2);
    assert.match(
      b64AsHex.stderr,
      /not valid hex: "w" is not a hex digit at byte offset 1 \(ERR_FORMAT_ENCODING\)/,
    );
    // Binary read as if it were base64: 0x03 is no base64 character.
    const binAsB64 = await run('quote', 'inspect', 'q.bin', '--encoding', 'base64');
    assert.equal(binAsB64.code, 2);
    assert.match(binAsB64.stderr, /not valid base64: "\\u0003" is not a base64 character at byte offset 0/);
  });

  test('quote verify: --encoding reaches the decoder (explicit hex on base64 text is refused)', async () => {
    const r = await run(
      'quote',
      'verify',
      'q.b64',
      '--encoding',
      'hex',
      '--collateral',
      'none.json',
      '--json',
    );
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout) as JsonError;
    assert.equal(doc.error.code, 'ERR_USAGE');
    assert.deepEqual([doc.error.details['encoding'], doc.error.details['offset']], ['hex', 1]);
    assert.equal(doc.error.details['formatCode'], 'ERR_FORMAT_ENCODING');
  });

  test('enclave sigstruct: --encoding binary/hex/base64 read their forms', async () => {
    const ss = readFileSync(testdataPath('sgx', 'enarx', 'encl.ss'));
    writeFileSync(join(dir, 'encl.ss'), ss);
    writeFileSync(join(dir, 'encl.ss.hex'), ss.toString('hex'));
    writeFileSync(join(dir, 'encl.ss.b64'), ss.toString('base64'));
    for (const [file, encoding] of [
      ['encl.ss', 'binary'],
      ['encl.ss.hex', 'hex'],
      ['encl.ss.b64', 'base64'],
      ['encl.ss.b64', 'auto'],
    ] as const) {
      const r = await run('enclave', 'sigstruct', file, '--encoding', encoding);
      assert.equal(r.code, 0, `${file} ${encoding}: ${r.stderr}`);
    }
    assert.equal((await run('enclave', 'sigstruct', 'encl.ss', '--encoding', 'base64')).code, 2);
  });
});
