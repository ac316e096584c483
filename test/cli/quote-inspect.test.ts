/** `ccnodes quote inspect`: human and JSON output on the real quotes, input encodings, exit codes. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCapture(argv);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

interface JsonQuote {
  inputEncoding: string;
  size: number;
  header: { version: number; tee: string; teeType: string; qeVendorId: string };
  body: { kind: string; report: Record<string, unknown> };
  qeReport: { isvSvn: number; attributes: { flags: string; flagNames: string[]; xfrm: string } };
  certification: { type: number; pckChain: { subject: string; issuer: string }[]; pckChainPem: string[] };
  outerCertification?: { type: number };
  trailingBytes: number;
}

const QUOTES = [
  { file: 'phala-dcap-qvl/sgx_quote', version: 3, kind: 'sgx', qeSvn: 10, trailing: 0 },
  { file: 'phala-dcap-qvl/tdx_quote', version: 4, kind: 'td10', qeSvn: 6, trailing: 70 },
  { file: 'phala-dcap-qvl/tdx_quote_outdated', version: 5, kind: 'td15', qeSvn: 7, trailing: 0 },
] as const;

describe('ccnodes quote inspect', { skip: testdataSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-inspect-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const q of QUOTES) {
    test(`${q.file}: readable table of every field`, async () => {
      const r = await run('quote', 'inspect', testdataPath('dcap', q.file));
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      assert.match(r.out, new RegExp(`^  version +${q.version}$`, 'm'));
      assert.match(r.out, /^ {2}qeVendorId +939a7233f79c4ca9940a0db3957f0607 \(Intel\)$/m);
      assert.match(r.out, new RegExp(`^  trailingBytes +${q.trailing}$`, 'm'));
      assert.match(r.out, new RegExp(`^  isvSvn +${q.qeSvn}$`, 'm'), 'QE report ISVSVN');
      assert.match(
        r.out,
        /^ {2}attributes\.flags +0x[0-9a-f]{16} \(INIT, MODE64BIT, PROVISIONKEY\)$/m,
        'QE flags decoded',
      );
      assert.match(r.out, /certificate\[0\]\.subject +CN=Intel SGX PCK Certificate/);
      assert.match(r.out, /certificate\[2\]\.subject +CN=Intel SGX Root CA/);
      if (q.kind === 'sgx') assert.match(r.out, /^ {2}mrEnclave +33d8736d[0-9a-f]{56}$/m);
      else assert.match(r.out, /^ {2}mrTd +[0-9a-f]{96}$/m);
      if (q.kind === 'td15') assert.match(r.out, /^ {2}mrServiceTd +[0-9a-f]{96}$/m);
    });
  }

  test('--json: bytes as hex, 64-bit values as 0x strings, same content for hex and base64 input', async () => {
    const bin = readFileSync(testdataPath('dcap', 'phala-dcap-qvl/tdx_quote'));
    const r = await run('quote', 'inspect', '--json', testdataPath('dcap', 'phala-dcap-qvl/tdx_quote'));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as JsonQuote;
    assert.equal(j.inputEncoding, 'binary');
    assert.equal(j.size, 5006);
    assert.equal(j.header.version, 4);
    assert.equal(j.header.tee, 'TDX');
    assert.equal(j.header.teeType, '0x00000081');
    assert.equal(j.body.kind, 'td10');
    assert.match(String(j.body.report['mrTd']), /^[0-9a-f]{96}$/);
    assert.match(String(j.body.report['tdAttributes']), /^0x[0-9a-f]{16}$/);
    assert.equal(j.qeReport.isvSvn, 6);
    assert.match(j.qeReport.attributes.flags, /^0x[0-9a-f]{16}$/);
    assert.deepEqual(j.qeReport.attributes.flagNames, ['INIT', 'MODE64BIT', 'PROVISIONKEY']);
    assert.equal(j.outerCertification?.type, 6);
    assert.equal(j.certification.type, 5);
    assert.equal(j.certification.pckChain.length, 3);
    assert.match(j.certification.pckChain[1]!.subject, /Intel SGX PCK Platform CA/);
    assert.equal(j.trailingBytes, 70);
    for (const [name, text, encoding] of [
      ['q.hex', bin.toString('hex'), 'hex'],
      ['q.b64', bin.toString('base64').replace(/(.{76})/g, '$1\n'), 'base64'],
      ['q.b64url', bin.toString('base64url'), 'base64url'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const again = await run('quote', 'inspect', '--json', join(dir, name));
      assert.equal(again.code, 0, again.err);
      assert.deepEqual(JSON.parse(again.out), { ...j, inputEncoding: encoding }, name);
    }
  });

  test('undecodable quote → exit 2 with the error code, field and offset', async () => {
    const bin = new Uint8Array(readFileSync(testdataPath('dcap', 'phala-dcap-qvl/sgx_quote')));
    bin[0] = 9;
    writeFileSync(join(dir, 'bad-version'), bin);
    const r = await run('quote', 'inspect', join(dir, 'bad-version'));
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(
      r.err,
      /header\.version: unsupported quote version 9 .*at byte offset 0 \(ERR_FORMAT_VERSION\)/,
    );

    writeFileSync(join(dir, 'short'), bin.subarray(0, 40));
    const j = await run('quote', 'inspect', '--json', join(dir, 'short'));
    assert.equal(j.code, 2);
    const body = JSON.parse(j.out) as {
      ok: boolean;
      error: { code: string; details: { field: string; offset: number } };
    };
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'ERR_FORMAT_TRUNCATED');
    assert.deepEqual(body.error.details.field, 'header');
    assert.match(j.err, /ERR_FORMAT_TRUNCATED/);
  });

  test('text that is neither hex nor base64 → exit 2, ERR_FORMAT_ENCODING', async () => {
    writeFileSync(join(dir, 'garbage.txt'), 'this is not a quote!\n');
    const r = await run('quote', 'inspect', join(dir, 'garbage.txt'));
    assert.equal(r.code, 2);
    assert.match(r.err, /ERR_FORMAT_ENCODING/);
  });

  test('missing file → exit 2, ERR_IO', async () => {
    const r = await run('quote', 'inspect', join(dir, 'does-not-exist'));
    assert.equal(r.code, 2);
    assert.match(r.err, /ERR_IO/);
  });

  test('--help describes the command and its input forms', async () => {
    const r = await run('quote', 'inspect', '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /binary, hex or base64/);
    assert.match(r.out, /--json/);
  });
});
