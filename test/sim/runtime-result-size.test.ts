/**
 * The enclave runtime refuses to carry a host result into the enclave worker when it is longer
 * than the worker's heap can take (docs/enclaves.md: a quarter of the heap limit in characters,
 * 8 Mi for the 32 MB minimum; bytes travel as hex, so they count twice). The refusal is
 * `ERR_ENCLAVE_ECALL` inside the enclave and for the ECALL that asked; the worker stays alive, and a
 * result of exactly the limit still crosses whole.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SimCpu, startEnclave, type RunningEnclave } from '../../src/sim/index.ts';
import { makeImage, sign } from './enclave-fixtures.ts';

/** The documented limit of the 32 MB minimum heap (what `heapPages: 4` gets), in characters. */
const LIMIT = 8 * 1024 * 1024;
/** Characters of a string result's envelope around the string: `{"ok":true,"value":"` … `"}`. */
const STRING_ENVELOPE = JSON.stringify({ ok: true, value: '' }).length;

/**
 * `text(n)` asks the host for n characters and returns how many arrived; `bytes(n)` the same with
 * n bytes; `caught(n)` asks for n characters and returns the error the enclave saw.
 */
const ENTRY = `
enclave.ecall('text', async function (n) { return (await enclave.ocall('text', n)).length; });
enclave.ecall('bytes', async function (n) { return (await enclave.ocall('bytes', n)).length; });
enclave.ecall('caught', async function (n) {
  try { await enclave.ocall('text', n); return 'no error'; }
  catch (e) { return { code: e.code, message: e.message }; }
});
`;

let e: RunningEnclave;
before(async () => {
  const image = makeImage(
    { heapPages: 4, ecalls: ['text', 'bytes', 'caught'], ocalls: ['text', 'bytes'] },
    { 'main.js': ENTRY },
  );
  e = await startEnclave({
    cpu: SimCpu.fromSeed('runtime-result-size'),
    image,
    sigstruct: sign(image),
    ocalls: {
      text: (n: unknown) => 'r'.repeat(Number(n)),
      bytes: (n: unknown) => new Uint8Array(Number(n)).fill(0xa5),
    },
  });
});
after(async () => {
  await e.terminate();
});

const tooLarge = (chars: number): RegExp =>
  new RegExp(`a result of ${chars} characters exceeds the ${LIMIT} the enclave heap can take`);

test('a host result one character over the limit is refused with ERR_ENCLAVE_ECALL naming both sizes; the worker keeps working', async () => {
  const n = LIMIT - STRING_ENVELOPE + 1;
  await assert.rejects(e.ecall('text', n), {
    code: 'ERR_ENCLAVE_ECALL',
    message: tooLarge(LIMIT + 1),
  });
  // The same worker answers the next call.
  assert.equal(await e.ecall('text', 5), 5);
});

test('the enclave itself sees the refusal as ERR_ENCLAVE_ECALL and can go on', async () => {
  const r = (await e.ecall('caught', LIMIT)) as { code: string; message: string };
  assert.equal(r.code, 'ERR_ENCLAVE_ECALL');
  assert.match(r.message, tooLarge(LIMIT + STRING_ENVELOPE));
  assert.equal(await e.ecall('caught', 3), 'no error');
});

test('a host result of exactly the limit crosses whole', async () => {
  const n = LIMIT - STRING_ENVELOPE;
  assert.equal(await e.ecall('text', n), n);
  assert.equal(await e.ecall('text', 1), 1);
});

test('bytes count as their hex: 4 MiB of bytes are over the limit, a little less crosses', async () => {
  const envelope = JSON.stringify({ ok: true, value: { $b: '' } }).length;
  await assert.rejects(e.ecall('bytes', LIMIT / 2), {
    code: 'ERR_ENCLAVE_ECALL',
    message: tooLarge(LIMIT + envelope),
  });
  const fits = Math.floor((LIMIT - envelope) / 2);
  assert.equal(await e.ecall('bytes', fits), fits);
});
