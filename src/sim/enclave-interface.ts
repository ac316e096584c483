/**
 * Typed enclave interfaces: the role EDL files play in Intel's SGX SDK. The ECALLs an enclave
 * exposes and the OCALLs it may make are declared once, with argument and result types:
 *
 * ```ts
 * const kv = defineEnclaveInterface({
 *   ecalls: {
 *     put: { args: [t.string({ max: 64 }), t.bytes({ max: 4096 })], result: t.void() },
 *     get: { args: [t.string({ max: 64 })], result: t.optional(t.bytes({ max: 4096 })) },
 *   },
 *   ocalls: { save: { args: [t.bytes({ max: 1 << 20 })], result: t.void() } },
 * });
 * const enclave = await startTypedEnclave(kv, { cpu, image, sigstruct, ocalls: { save: async (blob) => {} } });
 * await enclave.ecalls.put('k', bytes); // typed: (key: string, value: Uint8Array) => Promise<void>
 * ```
 *
 * Every crossing is checked against the declaration, in both directions: ECALL arguments (host →
 * enclave) and results (enclave → host), OCALL arguments (enclave → host) and results (host →
 * enclave). A call the interface does not declare, a value of the wrong type or count, or one over
 * its declared size is refused with an {@link EnclaveInterfaceError} (`ERR_ENCLAVE_CALL_UNKNOWN`,
 * `ERR_ENCLAVE_CALL_TYPE`, `ERR_ENCLAVE_CALL_SIZE`) — never a crash. Inside the enclave the refusal
 * arrives as a rejected `enclave.ocall(...)` promise carrying the same code. OCALLs are limited to the
 * declared set: the interface must name exactly the definition's OCALLs, every one needs a handler,
 * and the runtime refuses any other name.
 *
 * The enclave side gets the same checks and one-line helpers from {@link enclavePrelude}: trusted
 * code prepended to the entry module by {@link withEnclaveInterface} (measured, so MRENCLAVE covers
 * it, as the trusted bridge edger8r generates is compiled into a real enclave).
 */
import { EnclaveInterfaceError, EnclaveRuntimeError } from './enclave-errors.ts';
import { type OcallHandler, type RunningEnclave, type StartEnclaveOptions, startEnclave } from './runtime.ts';

/** The description of one type; `T` is the TypeScript type of its values (phantom). */
export interface WireType<T> {
  readonly kind:
    'u32' | 'i32' | 'bool' | 'string' | 'bytes' | 'json' | 'void' | 'optional' | 'array' | 'struct';
  /** Upper bound: UTF-8 bytes (string), bytes, elements (array), serialised UTF-8 bytes (json). */
  readonly max?: number;
  /** Exact length in bytes (`bytes({ length })`). */
  readonly length?: number;
  readonly of?: WireType<unknown>;
  readonly fields?: Readonly<Record<string, WireType<unknown>>>;
  /** @internal phantom, never set */
  readonly __type?: T;
}

/** The TypeScript type of the values of a {@link WireType}. */
export type Infer<W> = W extends WireType<infer T> ? T : never;
/** The TypeScript types of an argument list. */
export type InferArgs<A> = { -readonly [K in keyof A]: Infer<A[K]> };

/** Largest `max` accepted for any type (the runtime's messages are JSON; 64 MiB of hex is plenty). */
export const MAX_WIRE_LIMIT = 32 * 1024 * 1024;

function limit(what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_WIRE_LIMIT) {
    throw interfaceError(`${what}: ${String(n)} is not an integer in 0..${MAX_WIRE_LIMIT}`, { field: what });
  }
  return n;
}

function interfaceError(message: string, details: Record<string, unknown>): EnclaveInterfaceError {
  return new EnclaveInterfaceError('ERR_ENCLAVE_INTERFACE', message, details);
}

/** The type constructors of an interface declaration. */
export const t = {
  /** An unsigned 32-bit integer (0..4294967295). */
  u32: (): WireType<number> => ({ kind: 'u32' }),
  /** A signed 32-bit integer. */
  i32: (): WireType<number> => ({ kind: 'i32' }),
  bool: (): WireType<boolean> => ({ kind: 'bool' }),
  /** A string of at most `max` UTF-8 bytes. */
  string: (o: { max: number }): WireType<string> => ({
    kind: 'string',
    max: limit('string.max', o.max),
  }),
  /** A `Uint8Array` of at most `max` bytes, or of exactly `length` bytes. */
  bytes: (o: { max: number } | { length: number }): WireType<Uint8Array> =>
    'length' in o
      ? { kind: 'bytes', length: limit('bytes.length', o.length), max: o.length }
      : { kind: 'bytes', max: limit('bytes.max', o.max) },
  /** Any JSON value (no bytes inside) whose serialisation is at most `max` UTF-8 bytes. */
  json: <T = unknown>(o: { max: number }): WireType<T> => ({
    kind: 'json',
    max: limit('json.max', o.max),
  }),
  /** No value (`undefined`/`null`): a result only. */
  void: (): WireType<void> => ({ kind: 'void' }),
  /** The type or `null`/`undefined` (which cross as `null`). */
  optional: <T>(of: WireType<T>): WireType<T | null> => ({ kind: 'optional', of }),
  /** An array of at most `max` elements of one type. */
  array: <T>(of: WireType<T>, o: { max: number }): WireType<T[]> => ({
    kind: 'array',
    of,
    max: limit('array.max', o.max),
  }),
  /** An object with exactly these fields (no others). */
  struct: <F extends Record<string, WireType<unknown>>>(
    fields: F,
  ): WireType<{ [K in keyof F]: Infer<F[K]> }> => ({
    kind: 'struct',
    fields,
  }),
} as const;

/** One call: its argument types (in order) and its result type. */
export interface CallSpec {
  readonly args: readonly WireType<unknown>[];
  readonly result: WireType<unknown>;
}

/** What {@link defineEnclaveInterface} takes. */
export interface InterfaceSpec {
  readonly ecalls: Readonly<Record<string, CallSpec>>;
  readonly ocalls?: Readonly<Record<string, CallSpec>>;
}

/** A checked interface declaration. */
export interface EnclaveInterface<S extends InterfaceSpec> {
  readonly spec: S;
  readonly ecallNames: readonly string[];
  readonly ocallNames: readonly string[];
}

/** The host's typed proxy of an interface's ECALLs. */
export type EcallProxy<S extends InterfaceSpec> = {
  readonly [K in keyof S['ecalls']]: (
    ...args: InferArgs<S['ecalls'][K]['args']>
  ) => Promise<Infer<S['ecalls'][K]['result']>>;
};

type OcallSpecs<S extends InterfaceSpec> = NonNullable<S['ocalls']>;

/** A host handler of one OCALL, typed from its declaration. */
export type OcallHandlerOf<C> = C extends CallSpec
  ? (...args: InferArgs<C['args']>) => Infer<C['result']> | Promise<Infer<C['result']>>
  : never;

/** The host's handlers of an interface's OCALLs, typed. */
export type OcallHandlers<S extends InterfaceSpec> = {
  readonly [K in keyof OcallSpecs<S>]: OcallHandlerOf<OcallSpecs<S>[K]>;
};

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const KINDS = new Set([
  'u32',
  'i32',
  'bool',
  'string',
  'bytes',
  'json',
  'void',
  'optional',
  'array',
  'struct',
]);

function checkType(w: unknown, path: string, resultPosition: boolean): void {
  const bad = (why: string): EnclaveInterfaceError => interfaceError(`${path}: ${why}`, { field: path });
  if (typeof w !== 'object' || w === null || !KINDS.has((w as { kind?: unknown }).kind as string)) {
    throw bad('not a type made with t.*');
  }
  const x = w as WireType<unknown>;
  if (x.kind === 'void' && !resultPosition) throw bad('void is only a result type');
  if (['string', 'bytes', 'json', 'array'].includes(x.kind)) limit(`${path}.max`, x.max);
  if (x.kind === 'optional' || x.kind === 'array') checkType(x.of, `${path}.of`, false);
  if (x.kind === 'struct') {
    const fields: unknown = x.fields;
    if (typeof fields !== 'object' || fields === null) throw bad('struct without fields');
    for (const [k, f] of Object.entries(fields)) {
      if (!NAME.test(k)) throw bad(`field name "${k}" is not an identifier`);
      checkType(f, `${path}.${k}`, false);
    }
  }
}

function checkCalls(calls: unknown, where: 'ecalls' | 'ocalls'): string[] {
  if (typeof calls !== 'object' || calls === null)
    throw interfaceError(`${where}: not an object`, { field: where });
  const names = Object.keys(calls);
  for (const name of names) {
    const path = `${where}.${name}`;
    if (!NAME.test(name)) throw interfaceError(`${path}: not an identifier`, { field: path });
    const c = (calls as Record<string, unknown>)[name] as CallSpec | null | undefined;
    if (typeof c !== 'object' || c === null || !Array.isArray(c.args)) {
      throw interfaceError(`${path}: needs args (an array of types) and a result type`, { field: path });
    }
    c.args.forEach((a, i) => {
      checkType(a, `${path}.args[${i}]`, false);
    });
    checkType(c.result, `${path}.result`, true);
  }
  return names;
}

/** Checks and returns an interface declaration (throws `ERR_ENCLAVE_INTERFACE` naming the bad part). */
export function defineEnclaveInterface<const S extends InterfaceSpec>(spec: S): EnclaveInterface<S> {
  const ecallNames = checkCalls(spec.ecalls, 'ecalls');
  const ocallNames = spec.ocalls === undefined ? [] : checkCalls(spec.ocalls, 'ocalls');
  return Object.freeze({ spec, ecallNames, ocallNames });
}

/** Where a value is crossing, for messages: `ecall put argument 1 (host → enclave)`. */
export interface Crossing {
  readonly call: 'ecall' | 'ocall';
  readonly name: string;
  readonly direction: 'host→enclave' | 'enclave→host';
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function jsonOnly(v: unknown, path: string, fail: (code: 'type', why: string, at: string) => never): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('type', 'a JSON number must be finite', path);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      jsonOnly(x, `${path}[${i}]`, fail);
    });
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) jsonOnly(x, `${path}.${k}`, fail);
    return;
  }
  fail('type', `${v instanceof Uint8Array ? 'bytes' : typeof v} is not a JSON value`, path);
}

/**
 * Checks `value` against `type` and returns it as it crosses (`undefined` → `null` for optional and
 * void). Throws `ERR_ENCLAVE_CALL_TYPE` or `ERR_ENCLAVE_CALL_SIZE` naming the crossing and the path.
 */
export function checkValue(type: WireType<unknown>, value: unknown, path: string, at: Crossing): unknown {
  const fail = (code: 'type' | 'size', why: string, where: string): never => {
    throw new EnclaveInterfaceError(
      code === 'type' ? 'ERR_ENCLAVE_CALL_TYPE' : 'ERR_ENCLAVE_CALL_SIZE',
      `${at.call} ${at.name} ${where} (${at.direction}): ${why}`,
      { call: at.call, name: at.name, direction: at.direction, path: where },
    );
  };
  switch (type.kind) {
    case 'u32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff)
        return fail('type', 'expected an integer in 0..4294967295', path);
      return value;
    case 'i32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff)
        return fail('type', 'expected an integer in -2147483648..2147483647', path);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') return fail('type', 'expected a boolean', path);
      return value;
    case 'string':
      if (typeof value !== 'string') return fail('type', 'expected a string', path);
      if (utf8Length(value) > (type.max ?? 0))
        return fail(
          'size',
          `${utf8Length(value)} UTF-8 bytes, more than the declared ${type.max} bytes`,
          path,
        );
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) return fail('type', 'expected bytes (a Uint8Array)', path);
      if (type.length !== undefined && value.length !== type.length)
        return fail(
          value.length > type.length ? 'size' : 'type',
          `${value.length} bytes, expected exactly ${type.length}`,
          path,
        );
      if (value.length > (type.max ?? 0))
        return fail('size', `${value.length} bytes, more than the declared ${type.max}`, path);
      return value;
    case 'json': {
      if (value === undefined) return fail('type', 'expected a JSON value', path);
      jsonOnly(value, path, fail);
      const size = utf8Length(JSON.stringify(value));
      if (size > (type.max ?? 0))
        return fail('size', `${size} bytes of JSON, more than the declared ${type.max}`, path);
      return value;
    }
    case 'void':
      if (value !== undefined && value !== null) return fail('type', 'expected no value', path);
      return null;
    case 'optional':
      if (value === undefined || value === null) return null;
      return checkValue(elementType(type), value, path, at);
    case 'array':
      if (!Array.isArray(value)) return fail('type', 'expected an array', path);
      if (value.length > (type.max ?? 0))
        return fail('size', `${value.length} elements, more than the declared ${type.max}`, path);
      return value.map((x, i) => checkValue(elementType(type), x, `${path}[${i}]`, at));
    case 'struct': {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
        return fail('type', 'expected an object', path);
      const fields = type.fields ?? {};
      const extra = Object.keys(value).filter((k) => !Object.hasOwn(fields, k));
      if (extra.length > 0) return fail('type', `unexpected field ${extra[0]}`, path);
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(fields)) {
        out[k] = checkValue(f, (value as Record<string, unknown>)[k], `${path}.${k}`, at);
      }
      return out;
    }
  }
}

function elementType(type: WireType<unknown>): WireType<unknown> {
  if (type.of === undefined) throw interfaceError(`${type.kind} without an element type`, { field: 'of' });
  return type.of;
}

function checkArgs(spec: CallSpec, args: readonly unknown[], at: Crossing): unknown[] {
  if (args.length !== spec.args.length) {
    throw new EnclaveInterfaceError(
      'ERR_ENCLAVE_CALL_TYPE',
      `${at.call} ${at.name} (${at.direction}): ${args.length} arguments, expected ${spec.args.length}`,
      { call: at.call, name: at.name, direction: at.direction, path: 'arguments' },
    );
  }
  return spec.args.map((type, i) => checkValue(type, args[i], `argument ${i + 1}`, at));
}

function unknownCall(call: 'ecall' | 'ocall', name: string): EnclaveInterfaceError {
  return new EnclaveInterfaceError(
    'ERR_ENCLAVE_CALL_UNKNOWN',
    `${call} ${name} is not declared in the enclave interface`,
    { call, name },
  );
}

const INTERFACE_CODES = new Set([
  'ERR_ENCLAVE_CALL_UNKNOWN',
  'ERR_ENCLAVE_CALL_TYPE',
  'ERR_ENCLAVE_CALL_SIZE',
]);

/**
 * Checks that an enclave definition declares exactly the interface's ECALLs and OCALLs (the
 * definition's lists are what the runtime enforces and what is measured).
 */
export function checkInterfaceMatches(
  iface: EnclaveInterface<InterfaceSpec>,
  declared: { readonly ecalls: readonly string[]; readonly ocalls: readonly string[] },
): void {
  for (const what of ['ecalls', 'ocalls'] as const) {
    const mine = [...(what === 'ecalls' ? iface.ecallNames : iface.ocallNames)].sort();
    const theirs = [...declared[what]].sort();
    if (mine.join('\0') !== theirs.join('\0')) {
      throw interfaceError(
        `${what}: the interface declares [${mine.join(', ')}], the enclave definition [${theirs.join(', ')}]`,
        { field: what, interface: mine, definition: theirs },
      );
    }
  }
}

/**
 * Wraps typed OCALL handlers into the runtime's handlers: each checks the arguments coming out of
 * the enclave before the handler runs, and the handler's result before it goes back in. Every
 * declared OCALL must have a handler (`ERR_ENCLAVE_INTERFACE`); handlers for undeclared names are
 * refused too.
 */
export function typedOcallHandlers<S extends InterfaceSpec>(
  iface: EnclaveInterface<S>,
  handlers: OcallHandlers<S>,
): Record<string, OcallHandler> {
  const given = handlers as unknown as Record<string, unknown>;
  const out: Record<string, OcallHandler> = {};
  for (const name of Object.keys(given)) {
    if (!iface.ocallNames.includes(name)) throw unknownCall('ocall', name);
  }
  for (const name of iface.ocallNames) {
    const handler = given[name];
    if (typeof handler !== 'function') {
      throw interfaceError(`ocalls.${name}: no host handler`, { field: `ocalls.${name}` });
    }
    const spec = (iface.spec.ocalls ?? {})[name];
    if (spec === undefined) throw unknownCall('ocall', name);
    out[name] = async (...args: unknown[]) => {
      const checked = checkArgs(spec, args, { call: 'ocall', name, direction: 'enclave→host' });
      const result: unknown = await (handler as (...a: unknown[]) => unknown)(...checked);
      return checkValue(spec.result, result, 'result', { call: 'ocall', name, direction: 'host→enclave' });
    };
  }
  return out;
}

/** A running enclave with its typed ECALL proxy. */
export interface TypedEnclave<S extends InterfaceSpec> {
  readonly interface: EnclaveInterface<S>;
  readonly running: RunningEnclave;
  /** One typed function per declared ECALL. */
  readonly ecalls: EcallProxy<S>;
  /** Calls an ECALL by name (checked like the proxy; an undeclared name → `ERR_ENCLAVE_CALL_UNKNOWN`). */
  call(name: string, ...args: unknown[]): Promise<unknown>;
  terminate(): Promise<void>;
}

/** Builds the typed proxy of `iface` over an enclave that is already running. */
export function typedEnclave<S extends InterfaceSpec>(
  iface: EnclaveInterface<S>,
  running: RunningEnclave,
): TypedEnclave<S> {
  checkInterfaceMatches(iface, running.layout.manifest);
  const call = async (name: string, ...args: unknown[]): Promise<unknown> => {
    const spec = Object.hasOwn(iface.spec.ecalls, name) ? iface.spec.ecalls[name] : undefined;
    if (spec === undefined) throw unknownCall('ecall', name);
    const checked = checkArgs(spec, args, { call: 'ecall', name, direction: 'host→enclave' });
    let result: unknown;
    try {
      result = await running.ecall(name, ...checked);
    } catch (err) {
      // The enclave side's own checks (enclavePrelude) refuse with the same codes.
      const code = err instanceof EnclaveRuntimeError ? err.details['enclaveCode'] : undefined;
      if (typeof code === 'string' && INTERFACE_CODES.has(code)) {
        throw new EnclaveInterfaceError(
          code as 'ERR_ENCLAVE_CALL_TYPE',
          `refused inside the enclave: ${err instanceof Error ? err.message : String(err)}`,
          { call: 'ecall', name, side: 'enclave' },
          err,
        );
      }
      throw err;
    }
    return checkValue(spec.result, result, 'result', { call: 'ecall', name, direction: 'enclave→host' });
  };
  const ecalls = Object.freeze(
    Object.fromEntries(iface.ecallNames.map((n) => [n, (...args: unknown[]) => call(n, ...args)])),
  ) as unknown as EcallProxy<S>;
  return Object.freeze({
    interface: iface,
    running,
    ecalls,
    call,
    terminate: () => running.terminate(),
  });
}

/** Options of {@link startTypedEnclave}: those of `startEnclave`, with typed OCALL handlers. */
export interface StartTypedEnclaveOptions<S extends InterfaceSpec> extends Omit<
  StartEnclaveOptions,
  'ocalls'
> {
  readonly ocalls?: OcallHandlers<S>;
}

/**
 * Checks that the image's definition declares the interface's calls, then starts the enclave with
 * checked OCALL handlers and returns its typed ECALL proxy.
 */
export async function startTypedEnclave<S extends InterfaceSpec>(
  iface: EnclaveInterface<S>,
  options: StartTypedEnclaveOptions<S>,
): Promise<TypedEnclave<S>> {
  checkInterfaceMatches(iface, options.image.definition);
  const ocalls = typedOcallHandlers(iface, (options.ocalls ?? {}) as OcallHandlers<S>);
  const running = await startEnclave({ ...options, ocalls });
  return typedEnclave(iface, running);
}

/** The interface as plain JSON (what the enclave prelude embeds). */
export function interfaceJson(iface: EnclaveInterface<InterfaceSpec>): string {
  const strip = (w: WireType<unknown>): unknown => ({
    kind: w.kind,
    ...(w.max === undefined ? {} : { max: w.max }),
    ...(w.length === undefined ? {} : { length: w.length }),
    ...(w.of === undefined ? {} : { of: strip(w.of) }),
    ...(w.fields === undefined
      ? {}
      : { fields: Object.fromEntries(Object.entries(w.fields).map(([k, f]) => [k, strip(f)])) }),
  });
  const calls = (c: Readonly<Record<string, CallSpec>> | undefined): unknown =>
    Object.fromEntries(
      Object.entries(c ?? {}).map(([n, s]) => [n, { args: s.args.map(strip), result: strip(s.result) }]),
    );
  return JSON.stringify({ ecalls: calls(iface.spec.ecalls), ocalls: calls(iface.spec.ocalls) });
}
