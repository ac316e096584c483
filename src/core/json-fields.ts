/**
 * Typed field readers for the collateral JSON documents (TCB Info, QE Identity). Each read names
 * the JSON path of the field, so a malformed document fails with a message saying which member.
 */

/** A member is missing or of the wrong type; `path` names it. */
export class JsonFieldError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'JsonFieldError';
  }
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function asObject(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonFieldError(`${path} is not an object`, path);
  }
  return value as JsonObject;
}

export function getString(obj: JsonObject, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string')
    throw new JsonFieldError(`${path}.${key} is missing or not a string`, `${path}.${key}`);
  return v;
}

export function getInt(obj: JsonObject, key: string, path: string, max = 0xffffffff): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new JsonFieldError(`${path}.${key} is missing or not an integer in 0..${max}`, `${path}.${key}`);
  }
  return v;
}

export function getArray(obj: JsonObject, key: string, path: string): readonly unknown[] {
  const v = obj[key];
  if (!Array.isArray(v))
    throw new JsonFieldError(`${path}.${key} is missing or not an array`, `${path}.${key}`);
  return v;
}

/** A hex string of exactly `size` bytes (either case). */
export function getHex(obj: JsonObject, key: string, path: string, size: number): Uint8Array {
  const v = getString(obj, key, path);
  if (v.length !== size * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new JsonFieldError(`${path}.${key} is not ${size} bytes of hex`, `${path}.${key}`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** An RFC 3339 / ISO 8601 UTC date-time. */
export function getDate(obj: JsonObject, key: string, path: string): Date {
  const v = getString(obj, key, path);
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v) || Number.isNaN(d.getTime())) {
    throw new JsonFieldError(`${path}.${key} is not a UTC date-time: ${JSON.stringify(v)}`, `${path}.${key}`);
  }
  return d;
}

export function getStringArray(obj: JsonObject, key: string, path: string): readonly string[] {
  if (obj[key] === undefined) return [];
  const arr = getArray(obj, key, path);
  return arr.map((x, i) => {
    if (typeof x !== 'string')
      throw new JsonFieldError(`${path}.${key}[${i}] is not a string`, `${path}.${key}[${i}]`);
    return x;
  });
}

/** Like `getDate`, but returns the validated text as received (e.g. for `tcbDate`). */
export function getDateText(obj: JsonObject, key: string, path: string): string {
  getDate(obj, key, path);
  return getString(obj, key, path);
}
