/**
 * Typed enclave interfaces (src/sim/enclave-interface.ts): ECALLs and OCALLs declared once with
 * their types; the host gets a typed proxy; every crossing is checked in both directions, and a
 * call that is unknown, of the wrong type or oversize is refused with its own code — never a crash
 * (the enclave keeps answering afterwards).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defineEnclaveInterface,
  EnclaveInterfaceError,
  startTypedEnclave,
  SimCpu,
  t,
  type TypedEnclave,
  type InterfaceSpec,
} from '../../src/sim/index.ts';
import { makeImage, sign } from './enclave-fixtures.ts';

const started: { terminate: () => Promise<void> }[] = [];
after(async () => {
  for (const e of started) await e.terminate();
});

const KV = defineEnclaveInterface({
  ecalls: {
    put: { args: [t.string({ max: 16 }), t.bytes({ max: 32 })], result: t.u32() },
    get: { args: [t.string({ max: 16 })], result: t.optional(t.bytes({ max: 32 })) },
    count: { args: [], result: t.u32() },
    bad: { args: [t.string({ max: 16 })], result: t.bytes({ max: 4 }) },
    stats: {
      args: [t.json({ max: 64 })],
      result: t.struct({ keys: t.array(t.string({ max: 16 }), { max: 4 }), ok: t.bool() }),
    },
    tryOcall: { args: [t.string({ max: 16 })], result: t.json({ max: 256 }) },
  },
  ocalls: {
    save: { args: [t.string({ max: 16 }), t.bytes({ max: 8 })], result: t.u32() },
  },
});

/** A KV enclave using the raw runtime API (no prelude): the host-side checks are all there is. */
const KV_ENTRY = `
var store = new Map();
var calls = 0;
enclave.ecall('put', function (k, v) { calls++; store.set(k, v); return store.size; });
enclave.ecall('get', function (k) { calls++; return store.has(k) ? store.get(k) : null; });
enclave.ecall('count', function () { return calls; });
enclave.ecall('bad', function (what) {
  if (what === 'type') return 'not bytes';
  if (what === 'size') return new Uint8Array(5);
  return new Uint8Array(4);
});
enclave.ecall('stats', function (q) { return { keys: Array.from(store.keys()), ok: q !== null }; });
// Calls the save OCALL with arguments chosen by the test, and reports what came back or the refusal.
enclave.ecall('tryOcall', async function (how) {
  var args = how === 'type' ? ['k', 'not bytes'] : how === 'size' ? ['k', new Uint8Array(9)]
    : how === 'count' ? ['k'] : how === 'badresult' ? ['bad', new Uint8Array(1)] : ['k', new Uint8Array(1)];
  try { return { ok: await enclave.ocall.apply(undefined, ['save'].concat(args)) }; }
  catch (e) { return { code: e.code }; }
});
`;

const kvDefinition = {
  ecalls: ['put', 'get', 'count', 'bad', 'stats', 'tryOcall'],
  ocalls: ['save'],
};

async function startKv(saves: [string, Uint8Array][] = []): Promise<TypedEnclave<typeof KV.spec>> {
  const image = makeImage(kvDefinition, { 'main.js': KV_ENTRY });
  const e = await startTypedEnclave(KV, {
    cpu: SimCpu.fromSeed('enclave-interface'),
    image,
    sigstruct: sign(image),
    ocalls: {
      save: (key, data) => {
        saves.push([key, data]);
        // The "badresult" case: a host handler returning the wrong type.
        return key === 'bad' ? ('nope' as unknown as number) : data.length;
      },
    },
  });
  started.push(e);
  return e;
}

function refused(code: string, detail?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof EnclaveInterfaceError, `not an EnclaveInterfaceError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (detail) assert.match(err.message, detail);
    return true;
  };
}

describe('declaring an interface', () => {
  test('types and names are checked when declared', () => {
    const bad: [string, () => unknown][] = [
      [
        'a call name that is not an identifier',
        () => defineEnclaveInterface({ ecalls: { 'no-dash': { args: [], result: t.void() } } }),
      ],
      [
        'void as an argument',
        () => defineEnclaveInterface({ ecalls: { f: { args: [t.void()], result: t.void() } } }),
      ],
      [
        'a value that is not a type',
        () =>
          defineEnclaveInterface({ ecalls: { f: { args: [{ kind: 'float' }] as never, result: t.void() } } }),
      ],
      ['args missing', () => defineEnclaveInterface({ ecalls: { f: { result: t.void() } as never } })],
      ['a negative max', () => t.bytes({ max: -1 })],
      ['a max that is not an integer', () => t.string({ max: 1.5 })],
      ['a max above the limit', () => t.json({ max: 2 ** 40 })],
      [
        'a struct field that is not an identifier',
        () =>
          defineEnclaveInterface({
            ecalls: { f: { args: [t.struct({ 'a b': t.u32() })], result: t.void() } },
          }),
      ],
    ];
    for (const [what, f] of bad) {
      assert.throws(f, refused('ERR_ENCLAVE_INTERFACE'), what);
    }
  });

  test('the interface must match the ECALLs and OCALLs of the enclave definition', async () => {
    const image = makeImage({ ecalls: ['put'], ocalls: ['save'] }, { 'main.js': KV_ENTRY });
    await assert.rejects(
      startTypedEnclave(KV, {
        cpu: SimCpu.fromSeed('x'),
        image,
        sigstruct: sign(image),
        ocalls: { save: () => 0 },
      }),
      refused('ERR_ENCLAVE_INTERFACE', /ecalls: the interface declares/),
    );
  });

  test('every declared OCALL needs a host handler, and handlers for undeclared OCALLs are refused', async () => {
    const image = makeImage(kvDefinition, { 'main.js': KV_ENTRY });
    const base = { cpu: SimCpu.fromSeed('x'), image, sigstruct: sign(image) };
    await assert.rejects(
      startTypedEnclave(KV, { ...base, ocalls: {} as never }),
      refused('ERR_ENCLAVE_INTERFACE', /ocalls\.save: no host handler/),
    );
    await assert.rejects(
      startTypedEnclave(KV, { ...base, ocalls: { save: () => 0, exfiltrate: () => 0 } as never }),
      refused('ERR_ENCLAVE_CALL_UNKNOWN', /ocall exfiltrate/),
    );
  });
});

describe('ECALLs through the typed proxy', () => {
  test('declared calls cross with their types', async () => {
    const e = await startKv();
    assert.equal(await e.ecalls.put('a', new Uint8Array([1, 2])), 1);
    assert.deepEqual(await e.ecalls.get('a'), new Uint8Array([1, 2]));
    assert.equal(await e.ecalls.get('missing'), null);
    assert.deepEqual(await e.ecalls.stats({ q: [1, 'x'] }), { keys: ['a'], ok: true });
    // A string limit is in UTF-8 bytes: 5 × "é" is 10 bytes, 16 × "é" would be 32.
    assert.equal(await e.ecalls.put('ééééé', new Uint8Array(32)), 2);
  });

  test('host → enclave: wrong types, counts and sizes are refused before the enclave sees them', async () => {
    const e = await startKv();
    const put = e.ecalls.put as unknown as (...a: unknown[]) => Promise<unknown>;
    await assert.rejects(
      put(1, new Uint8Array(1)),
      refused('ERR_ENCLAVE_CALL_TYPE', /argument 1 \(host→enclave\)/),
    );
    await assert.rejects(put('k', [1, 2]), refused('ERR_ENCLAVE_CALL_TYPE', /argument 2/));
    await assert.rejects(put('k'), refused('ERR_ENCLAVE_CALL_TYPE', /1 arguments, expected 2/));
    await assert.rejects(put('k', new Uint8Array(1), 3), refused('ERR_ENCLAVE_CALL_TYPE'));
    await assert.rejects(put('k', new Uint8Array(33)), refused('ERR_ENCLAVE_CALL_SIZE', /33 bytes/));
    await assert.rejects(put('x'.repeat(17), new Uint8Array(1)), refused('ERR_ENCLAVE_CALL_SIZE'));
    await assert.rejects(
      put('é'.repeat(9), new Uint8Array(1)),
      refused('ERR_ENCLAVE_CALL_SIZE', /18 UTF-8 bytes/),
    );
    const stats = e.ecalls.stats as unknown as (...a: unknown[]) => Promise<unknown>;
    await assert.rejects(stats({ big: 'x'.repeat(64) }), refused('ERR_ENCLAVE_CALL_SIZE'));
    await assert.rejects(stats(new Uint8Array(1)), refused('ERR_ENCLAVE_CALL_TYPE', /not a JSON value/));
    await assert.rejects(stats({ f: () => 1 }), refused('ERR_ENCLAVE_CALL_TYPE'));
    await assert.rejects(stats(undefined), refused('ERR_ENCLAVE_CALL_TYPE'));
    // None of these reached the enclave, and it still answers.
    assert.equal(await e.ecalls.count(), 0);
  });

  test('an ECALL the interface does not declare is refused', async () => {
    const e = await startKv();
    await assert.rejects(e.call('drop', 'x'), refused('ERR_ENCLAVE_CALL_UNKNOWN', /ecall drop/));
    await assert.rejects(e.call('__proto__'), refused('ERR_ENCLAVE_CALL_UNKNOWN'));
    assert.equal((e.ecalls as Record<string, unknown>)['drop'], undefined);
  });

  test('enclave → host: a result of the wrong type or size is refused', async () => {
    const e = await startKv();
    await assert.rejects(e.ecalls.bad('type'), refused('ERR_ENCLAVE_CALL_TYPE', /result \(enclave→host\)/));
    await assert.rejects(e.ecalls.bad('size'), refused('ERR_ENCLAVE_CALL_SIZE', /5 bytes/));
    assert.deepEqual(await e.ecalls.bad('ok'), new Uint8Array(4));
  });
});

describe('OCALLs through checked host handlers', () => {
  test('declared OCALLs reach the handler with their types', async () => {
    const saves: [string, Uint8Array][] = [];
    const e = await startKv(saves);
    assert.deepEqual(await e.ecalls.tryOcall('ok'), { ok: 1 });
    assert.deepEqual(saves, [['k', new Uint8Array([0])]]);
  });

  test('enclave → host: wrong OCALL arguments are refused before the handler runs; the enclave gets the code', async () => {
    const saves: [string, Uint8Array][] = [];
    const e = await startKv(saves);
    assert.deepEqual(await e.ecalls.tryOcall('type'), { code: 'ERR_ENCLAVE_CALL_TYPE' });
    assert.deepEqual(await e.ecalls.tryOcall('size'), { code: 'ERR_ENCLAVE_CALL_SIZE' });
    assert.deepEqual(await e.ecalls.tryOcall('count'), { code: 'ERR_ENCLAVE_CALL_TYPE' });
    assert.deepEqual(saves, []);
  });

  test('host → enclave: an OCALL result of the wrong type is refused', async () => {
    const e = await startKv();
    assert.deepEqual(await e.ecalls.tryOcall('badresult'), { code: 'ERR_ENCLAVE_CALL_TYPE' });
    // The enclave survived every refusal.
    assert.equal(await e.ecalls.put('after', new Uint8Array(1)), 1);
  });
});

describe('the types', () => {
  test('integers, booleans, optional and struct values are checked', async () => {
    const spec = {
      ecalls: {
        f: {
          args: [
            t.u32(),
            t.i32(),
            t.bool(),
            t.optional(t.u32()),
            t.struct({ a: t.u32() }),
            t.bytes({ length: 2 }),
          ],
          result: t.void(),
        },
      },
    } satisfies InterfaceSpec;
    const iface = defineEnclaveInterface(spec);
    const image = makeImage(
      { ecalls: ['f'] },
      { 'main.js': "enclave.ecall('f', function () { return null; });" },
    );
    const e = await startTypedEnclave(iface, {
      cpu: SimCpu.fromSeed('types'),
      image,
      sigstruct: sign(image),
    });
    started.push(e);
    const ok = [1, -1, true, null, { a: 1 }, new Uint8Array(2)] as const;
    await e.ecalls.f(...ok); // resolves: every argument is of its type
    const f = e.ecalls.f as unknown as (...a: unknown[]) => Promise<unknown>;
    const cases: [number, unknown, string][] = [
      [0, -1, 'ERR_ENCLAVE_CALL_TYPE'],
      [0, 2 ** 32, 'ERR_ENCLAVE_CALL_TYPE'],
      [0, 1.5, 'ERR_ENCLAVE_CALL_TYPE'],
      [1, 2 ** 31, 'ERR_ENCLAVE_CALL_TYPE'],
      [2, 'true', 'ERR_ENCLAVE_CALL_TYPE'],
      [3, 'x', 'ERR_ENCLAVE_CALL_TYPE'],
      [4, { a: 1, b: 2 }, 'ERR_ENCLAVE_CALL_TYPE'],
      [4, { a: 'x' }, 'ERR_ENCLAVE_CALL_TYPE'],
      [4, [1], 'ERR_ENCLAVE_CALL_TYPE'],
      [5, new Uint8Array(1), 'ERR_ENCLAVE_CALL_TYPE'],
      [5, new Uint8Array(3), 'ERR_ENCLAVE_CALL_SIZE'],
    ];
    for (const [i, v, code] of cases) {
      const args: unknown[] = [...ok];
      args[i] = v;
      await assert.rejects(f(...args), refused(code), `argument ${i + 1} = ${String(v)}`);
    }
  });
});
