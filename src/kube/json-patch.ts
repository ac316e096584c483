/**
 * Builds an RFC 6902 JSON Patch while applying it to a draft copy of the object, so that every
 * operation is valid against the state the previous operations left: a missing or `null` parent
 * (annotations, limits, env, volumes…) is created as a whole object or array before anything is
 * added beneath it, and reference tokens are escaped (`~` → `~0`, `/` → `~1`).
 */

/** One JSON Patch operation as the API server accepts it. */
export interface JsonPatchOperation {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

/** A path into a JSON document: object keys and array indexes. */
export type JsonPath = readonly (string | number)[];

/** RFC 6901 escaping of one reference token. */
export function escapeToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The JSON pointer of `path`. */
export function pointer(path: JsonPath): string {
  return path.map((t) => `/${escapeToken(t)}`).join('');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(node: unknown, token: string | number): unknown {
  if (Array.isArray(node)) return typeof token === 'number' ? node[token] : undefined;
  if (isObject(node)) return node[String(token)];
  return undefined;
}

function nest(rest: JsonPath, value: unknown): unknown {
  let out = value;
  for (let i = rest.length - 1; i >= 0; i--) out = { [String(rest[i])]: out };
  return out;
}

/** Records operations against a private draft of the document. */
export class PatchBuilder {
  readonly #draft: unknown;
  readonly #ops: JsonPatchOperation[] = [];

  constructor(document: unknown) {
    this.#draft = structuredClone(document);
  }

  /** The operations so far. */
  get operations(): readonly JsonPatchOperation[] {
    return this.#ops;
  }

  /** The document after the operations so far. */
  get draft(): unknown {
    return this.#draft;
  }

  /** Value at `path` in the draft, or undefined. */
  get(path: JsonPath): unknown {
    let node: unknown = this.#draft;
    for (const token of path) node = child(node, token);
    return node;
  }

  /**
   * Makes `path` hold `value`: no operation when it already does (deep JSON equality); otherwise one
   * `add` at the first level that is missing or null, carrying the rest of the path as nested objects.
   */
  set(path: JsonPath, value: unknown): void {
    if (JSON.stringify(this.get(path)) === JSON.stringify(value)) return;
    let node: unknown = this.#draft;
    for (let i = 0; i < path.length; i++) {
      const token = path[i] as string | number;
      const next = child(node, token);
      const last = i === path.length - 1;
      if (last || next === undefined || next === null) {
        const created = nest(path.slice(i + 1), structuredClone(value));
        this.#ops.push({ op: 'add', path: pointer(path.slice(0, i + 1)), value: created });
        if (Array.isArray(node) && typeof token === 'number') node[token] = structuredClone(created);
        else if (isObject(node)) node[String(token)] = structuredClone(created);
        return;
      }
      if (!isObject(next) && !Array.isArray(next)) {
        throw new TypeError(`${pointer(path.slice(0, i + 1))} is not an object`);
      }
      node = next;
    }
  }

  /** Appends `value` to the array at `path`, creating the array when it is missing or null. */
  append(path: JsonPath, value: unknown): void {
    const current = this.get(path);
    if (!Array.isArray(current)) {
      this.set(path, [value]);
      return;
    }
    this.#ops.push({ op: 'add', path: `${pointer(path)}/-`, value: structuredClone(value) });
    current.push(structuredClone(value));
  }
}
