/**
 * A strict RFC 6902 applier for tests (add, replace, remove, test), independent of src/kube: `add`
 * fails when the parent does not exist, array indexes must be in range, and `~1`/`~0` are unescaped.
 */
export interface PatchOp {
  readonly op: string;
  readonly path: string;
  readonly value?: unknown;
}

function tokens(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`bad pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, path: string): { parent: unknown; key: string } {
  const t = tokens(path);
  const key = t.pop();
  if (key === undefined) throw new Error('cannot patch the root');
  let node: unknown = doc;
  for (const tok of t) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(tok) || Number(tok) >= node.length)
        throw new Error(`${path}: index ${tok} out of range`);
      node = node[Number(tok)];
    } else if (typeof node === 'object' && node !== null && tok in node) {
      node = (node as Record<string, unknown>)[tok];
    } else {
      throw new Error(`${path}: parent "${tok}" does not exist`);
    }
  }
  if (typeof node !== 'object' || node === null) throw new Error(`${path}: parent is not a container`);
  return { parent: node, key };
}

/** Applies `ops` to a deep copy of `doc`; throws on any invalid operation. */
export function applyPatch(doc: unknown, ops: readonly PatchOp[]): unknown {
  const out = structuredClone(doc);
  for (const op of ops) {
    const { parent, key } = parentOf(out, op.path);
    if (Array.isArray(parent)) {
      const idx = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(idx) || idx > parent.length) throw new Error(`${op.path}: bad index`);
      if (op.op === 'add') parent.splice(idx, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[idx] = structuredClone(op.value);
      else if (op.op === 'remove') parent.splice(idx, 1);
      else if (op.op === 'test') {
        if (JSON.stringify(parent[idx]) !== JSON.stringify(op.value))
          throw new Error(`${op.path}: test failed`);
      } else throw new Error(`unsupported op ${op.op}`);
      continue;
    }
    const obj = parent as Record<string, unknown>;
    if (op.op === 'add') obj[key] = structuredClone(op.value);
    else if (op.op === 'replace' || op.op === 'remove') {
      if (!(key in obj)) throw new Error(`${op.path}: does not exist`);
      if (op.op === 'replace') obj[key] = structuredClone(op.value);
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- JSON Patch remove of an arbitrary key
      else delete obj[key];
    } else if (op.op === 'test') {
      if (JSON.stringify(obj[key]) !== JSON.stringify(op.value)) throw new Error(`${op.path}: test failed`);
    } else throw new Error(`unsupported op ${op.op}`);
  }
  return out;
}
