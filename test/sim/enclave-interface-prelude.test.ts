/**
 * The enclave side of a typed interface (src/sim/enclave-interface-prelude.ts): the generated
 * prelude is measured with the entry module, checks every crossing inside the enclave too (so a
 * host that bypasses the typed proxy is still refused), and gives enclave code one-liners for
 * sealing, reports, quotes (through the quoting OCALLs) and attestation.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeQuote, encodeTargetInfo } from '../../src/core/index.ts';
import {
  ATTEST_OCALLS,
  createSimDcap,
  defineEnclaveInterface,
  EnclaveInterfaceError,
  EnclaveRuntimeError,
  measureEnclave,
  QUOTE_OCALLS,
  SimCpu,
  simQuoteOcalls,
  startEnclave,
  startTypedEnclave,
  t,
  typedEnclave,
  withEnclaveInterface,
  type RunningEnclave,
} from '../../src/sim/index.ts';
import { makeImage, sign } from './enclave-fixtures.ts';

const started: { terminate: () => Promise<void> }[] = [];
after(async () => {
  for (const e of started) await e.terminate();
});

const SPEC = {
  ecalls: {
    echo: { args: [t.bytes({ max: 8 })], result: t.bytes({ max: 8 }) },
    lie: { args: [], result: t.u32() },
    callOut: { args: [t.string({ max: 16 })], result: t.json({ max: 256 }) },
    seal: { args: [t.bytes({ max: 64 }), t.bytes({ max: 16 })], result: t.bytes({ max: 1024 }) },
    unseal: {
      args: [t.bytes({ max: 1024 })],
      result: t.struct({ plaintext: t.bytes({ max: 64 }), ad: t.bytes({ max: 16 }) }),
    },
    report: { args: [t.bytes({ length: 512 })], result: t.bytes({ length: 432 }) },
    quote: { args: [t.bytes({ length: 64 })], result: t.bytes({ max: 65536 }) },
    attest: { args: [t.bytes({ max: 256 })], result: t.string({ max: 1024 }) },
  },
  ocalls: {
    log: { args: [t.string({ max: 8 })], result: t.void() },
    ...QUOTE_OCALLS,
    ...ATTEST_OCALLS,
  },
};
const IFACE = defineEnclaveInterface(SPEC);

const ENTRY = `
ccnodes.ecall('echo', function (b) { return b; });
ccnodes.ecall('lie', function () { return 'not a number'; });
ccnodes.ecall('callOut', async function (how) {
  try {
    if (how === 'unknown') await ccnodes.ocall('exfiltrate', 'x');
    else if (how === 'type') await ccnodes.ocall('log', 42);
    else if (how === 'size') await ccnodes.ocall('log', 'way too long');
    else await ccnodes.ocall('log', 'hi');
    return { ok: true };
  } catch (e) { return { code: e.code }; }
});
ccnodes.ecall('seal', function (data, ad) { return ccnodes.seal(data, { policy: 'mrenclave', additionalData: ad }); });
ccnodes.ecall('unseal', async function (blob) {
  var out = await ccnodes.unseal(blob);
  return { plaintext: out.plaintext, ad: out.additionalData };
});
ccnodes.ecall('report', function (ti) { return ccnodes.getReport(ti, new Uint8Array(64).fill(7)); });
ccnodes.ecall('quote', function (rd) { return ccnodes.getQuote(rd); });
ccnodes.ecall('attest', function (runtimeData) { return ccnodes.attest(runtimeData); });
`;

const DEFINITION = {
  ecalls: Object.keys(SPEC.ecalls),
  ocalls: Object.keys(SPEC.ocalls),
  heapPages: 16,
};

const dcap = createSimDcap({ seed: 'prelude-test' });

function image(): ReturnType<typeof makeImage> {
  return withEnclaveInterface(makeImage(DEFINITION, { 'main.js': ENTRY }), IFACE);
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

async function launch(cpu: SimCpu, logs: string[] = [], attested: Uint8Array[][] = []) {
  const img = image();
  const e = await startTypedEnclave(IFACE, {
    cpu,
    image: img,
    sigstruct: sign(img),
    ocalls: {
      log: (text) => {
        logs.push(text);
      },
      ...simQuoteOcalls(cpu, dcap.platform('up-to-date')),
      ccnodes_attest: (quote, runtimeData) => {
        attested.push([quote, runtimeData]);
        return 'token-for-' + Buffer.from(runtimeData).toString('hex');
      },
    },
  });
  started.push(e);
  return e;
}

/** The same enclave started with raw (unchecked) host handlers: only the prelude checks. */
async function launchRaw(cpu: SimCpu, logs: unknown[][]): Promise<RunningEnclave> {
  const img = image();
  const e = await startEnclave({
    cpu,
    image: img,
    sigstruct: sign(img),
    ocalls: {
      log: (...args: unknown[]) => {
        logs.push(args);
        return null;
      },
    },
  });
  started.push(e);
  return e;
}

describe('the prelude', () => {
  test('is measured: MRENCLAVE covers it, is stable, and differs from the bare entry module', () => {
    const plain = measureEnclave(makeImage(DEFINITION, { 'main.js': ENTRY })).mrEnclave;
    const a = measureEnclave(image()).mrEnclave;
    const b = measureEnclave(image()).mrEnclave;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, plain);
    const other = defineEnclaveInterface({
      ...SPEC,
      ecalls: { ...SPEC.ecalls, echo: { args: [t.bytes({ max: 9 })], result: t.bytes({ max: 8 }) } },
    });
    const c = measureEnclave(
      withEnclaveInterface(makeImage(DEFINITION, { 'main.js': ENTRY }), other),
    ).mrEnclave;
    assert.notDeepEqual(a, c, 'a different interface is a different enclave');
  });

  test('ECALL arguments from a host that bypasses the typed proxy are refused inside the enclave', async () => {
    const e = await launchRaw(SimCpu.fromSeed('prelude'), []);
    assert.deepEqual(await e.ecall('echo', new Uint8Array(8)), new Uint8Array(8));
    for (const [args, code] of [
      [[new Uint8Array(9)], 'ERR_ENCLAVE_CALL_SIZE'],
      [['text'], 'ERR_ENCLAVE_CALL_TYPE'],
      [[], 'ERR_ENCLAVE_CALL_TYPE'],
    ] as const) {
      await assert.rejects(e.ecall('echo', ...args), (err: unknown) => {
        assert.ok(err instanceof EnclaveRuntimeError);
        assert.equal(err.details['enclaveCode'], code, err.message);
        return true;
      });
    }
  });

  test('a refusal inside the enclave reaches the typed proxy as an EnclaveInterfaceError', async () => {
    // The host believes echo takes 16 bytes; the measured enclave accepts 8.
    const loose = defineEnclaveInterface({
      ...SPEC,
      ecalls: { ...SPEC.ecalls, echo: { args: [t.bytes({ max: 16 })], result: t.bytes({ max: 16 }) } },
    });
    const raw = await launchRaw(SimCpu.fromSeed('prelude'), []);
    const e = typedEnclave(loose, raw);
    await assert.rejects(e.ecalls.echo(new Uint8Array(12)), (err: unknown) => {
      assert.ok(err instanceof EnclaveInterfaceError);
      assert.equal(err.code, 'ERR_ENCLAVE_CALL_SIZE');
      assert.equal(err.details['side'], 'enclave');
      return true;
    });
  });

  test('ECALL results are checked inside the enclave before they leave', async () => {
    const e = await launchRaw(SimCpu.fromSeed('prelude'), []);
    await assert.rejects(e.ecall('lie'), (err: unknown) => {
      assert.ok(err instanceof EnclaveRuntimeError);
      assert.equal(err.details['enclaveCode'], 'ERR_ENCLAVE_CALL_TYPE');
      return true;
    });
  });

  test('OCALLs: undeclared names, wrong types and sizes are refused before leaving the enclave', async () => {
    const logs: unknown[][] = [];
    const e = await launchRaw(SimCpu.fromSeed('prelude'), logs);
    assert.deepEqual(await e.ecall('callOut', 'unknown'), { code: 'ERR_ENCLAVE_CALL_UNKNOWN' });
    assert.deepEqual(await e.ecall('callOut', 'type'), { code: 'ERR_ENCLAVE_CALL_TYPE' });
    assert.deepEqual(await e.ecall('callOut', 'size'), { code: 'ERR_ENCLAVE_CALL_SIZE' });
    // None of them reached the (unchecked) host handler; a good one does.
    assert.deepEqual(logs, []);
    assert.deepEqual(await e.ecall('callOut', 'ok'), { ok: true });
    assert.deepEqual(logs, [['hi']]);
  });
});

describe('one-liners for enclave code', () => {
  test('seal/unseal with the MRENCLAVE policy and additional data survive a restart of the enclave', async () => {
    const first = await launch(SimCpu.fromSeed('restart'));
    const blob = await first.ecalls.seal(new Uint8Array([1, 2, 3]), new Uint8Array([9]));
    await first.terminate();
    const second = await launch(SimCpu.fromSeed('restart'));
    assert.deepEqual(await second.ecalls.unseal(blob), {
      plaintext: new Uint8Array([1, 2, 3]),
      ad: new Uint8Array([9]),
    });
    // Another platform (other CPU secrets) cannot unseal it.
    const elsewhere = await launch(SimCpu.fromSeed('another platform'));
    await assert.rejects(elsewhere.ecalls.unseal(blob), (err: unknown) => {
      assert.ok(err instanceof EnclaveRuntimeError);
      assert.match(String(err.details['enclaveCode']), /^ERR_SEAL_/);
      return true;
    });
  });

  test('getReport(targetInfo) makes a REPORT the target can verify', async () => {
    const cpu = SimCpu.fromSeed('report');
    const e = await launch(cpu);
    const target = cpu.launchArchitectural({
      mrEnclave: new Uint8Array(32).fill(1),
      mrSigner: new Uint8Array(32).fill(2),
      attributes: { flags: 0x4n, xfrm: 0x3n },
      isvProdId: 1,
    });
    const report = await e.ecalls.report(encodeTargetInfo(target.targetInfo()));
    const verified = cpu.verifyReport(target, report);
    assert.deepEqual(verified.body.mrEnclave, e.running.enclave.mrEnclave);
    assert.deepEqual(verified.body.reportData, new Uint8Array(64).fill(7));
  });

  test('getQuote(reportData) returns a quote of this enclave through the quoting OCALLs', async () => {
    const e = await launch(SimCpu.fromSeed('quote'));
    const reportData = new Uint8Array(64).fill(5);
    const quote = decodeQuote(await e.ecalls.quote(reportData));
    assert.ok(quote.body.kind === 'sgx');
    assert.deepEqual(quote.body.report.mrEnclave, e.running.enclave.mrEnclave);
    assert.deepEqual(quote.body.report.reportData, reportData);
  });

  test('attest(runtimeData) sends a quote binding SHA-256(runtimeData) and returns the token', async () => {
    const attested: Uint8Array[][] = [];
    const e = await launch(SimCpu.fromSeed('attest'), [], attested);
    const runtimeData = new TextEncoder().encode('{"keys":[]}');
    const token = await e.ecalls.attest(runtimeData);
    assert.equal(token, `token-for-${Buffer.from(runtimeData).toString('hex')}`);
    assert.equal(attested.length, 1);
    const [quoteBytes, sent] = attested[0] ?? [];
    assert.deepEqual(sent, runtimeData);
    const quote = decodeQuote(quoteBytes ?? new Uint8Array());
    assert.ok(quote.body.kind === 'sgx');
    const expected = new Uint8Array(64);
    expected.set(sha256(runtimeData));
    assert.deepEqual(quote.body.report.reportData, expected);
  });
});
