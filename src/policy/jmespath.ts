/**
 * A bounded JMESPath interpreter for the policy `JmesPath(json, query)` function (policy 1.2).
 *
 * Supported: identifiers (bare and "quoted"), `.` sub-expressions, `[n]` (negative from the end),
 * `[a:b:c]` slices, `[*]` list and `*` object projections, `[]` flatten, `[? cond]` filters, `|`
 * pipes, `||`, `&&`, `!`, comparisons (`== != < <= > >=`), `@`, `` `json` `` literals, `'raw'`
 * strings, `(...)`, multi-select lists `[a, b]` and hashes `{k: a}`, and the functions `length`,
 * `contains`, `starts_with`, `ends_with`, `keys`, `values`, `type`, `to_string`, `to_number`,
 * `not_null`, `abs`, `max`, `min`, `sum`, `join`, and `equals_ignore_case` (used by Microsoft's
 * samples). Not supported (→ `ERR_POLICY_EVAL_JMESPATH`): expression references (`&`) and the
 * functions that take them (`sort_by`, `max_by`, …). Every node visit and element costs budget.
 */
import { stringifyBounded } from './budget.ts';
import { PolicyEvaluationError } from './errors.ts';
import type { CallContext } from './functions.ts';
import { POLICY_LIMITS } from './limits.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type Node =
  | { t: 'current' }
  | { t: 'literal'; v: Json }
  | { t: 'field'; name: string }
  | { t: 'sub'; l: Node; r: Node }
  | { t: 'index'; l: Node; i: number }
  | { t: 'slice'; l: Node; start: number | null; stop: number | null; step: number | null }
  | { t: 'project'; l: Node; r: Node }
  | { t: 'valueProject'; l: Node; r: Node }
  | { t: 'flatten'; l: Node; r: Node }
  | { t: 'filter'; l: Node; cond: Node; r: Node }
  | { t: 'pipe'; l: Node; r: Node }
  | { t: 'or'; l: Node; r: Node }
  | { t: 'and'; l: Node; r: Node }
  | { t: 'not'; e: Node }
  | { t: 'cmp'; op: string; l: Node; r: Node }
  | { t: 'list'; items: Node[] }
  | { t: 'hash'; pairs: [string, Node][] }
  | { t: 'call'; name: string; args: Node[] };

interface Tok {
  k: string;
  v?: string | number | Json;
  at: number;
}

const BP: Readonly<Record<string, number>> = {
  '|': 1,
  '||': 2,
  '&&': 3,
  '==': 5,
  '!=': 5,
  '<': 5,
  '<=': 5,
  '>': 5,
  '>=': 5,
  '[]': 9,
  '*': 20,
  '[?': 21,
  '.': 40,
  '!': 45,
  '{': 50,
  '[': 55,
  '(': 60,
};
const PROJECTION_STOP = 10;
/** Bounds the size (and so the depth) of a query's tree. */
const MAX_QUERY_TOKENS = 1024;
const MAX_QUERY_CHARS = 16 * 1024;

function fail(ctx: CallContext, message: string): never {
  throw new PolicyEvaluationError('ERR_POLICY_EVAL_JMESPATH', `JmesPath: ${message}`, ctx.pos);
}

function lex(q: string, ctx: CallContext): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i += 1;
      continue;
    }
    const at = i;
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < q.length && /[A-Za-z0-9_]/.test(q.charAt(j))) j += 1;
      out.push({ k: 'id', v: q.slice(i, j), at });
      i = j;
    } else if (/[0-9-]/.test(c)) {
      let j = i + 1;
      while (j < q.length && /[0-9]/.test(q.charAt(j))) j += 1;
      const text = q.slice(i, j);
      if (text === '-') fail(ctx, `'-' without digits at ${at}`);
      out.push({ k: 'num', v: Number(text), at });
      i = j;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let body = '';
      while (j < q.length && q.charAt(j) !== c) {
        if (q.charAt(j) === '\\' && j + 1 < q.length) {
          body += c === '"' ? q.slice(j, j + 2) : q.charAt(j + 1) === c ? c : q.slice(j, j + 2);
          j += 2;
        } else {
          body += q.charAt(j);
          j += 1;
        }
      }
      if (j >= q.length) fail(ctx, `unterminated ${c} at ${at}`);
      i = j + 1;
      if (c === "'") out.push({ k: 'lit', v: body, at });
      else {
        let v: unknown;
        try {
          v = JSON.parse(c === '"' ? `"${body}"` : body);
        } catch {
          fail(ctx, `invalid ${c === '"' ? 'quoted identifier' : 'JSON literal'} at ${at}`);
        }
        out.push(c === '"' ? { k: 'id', v: v as string, at } : { k: 'lit', v: v as Json, at });
      }
    } else {
      const two = q.slice(i, i + 2);
      const op = ['||', '&&', '==', '!=', '<=', '>=', '[]', '[?'].find((o) => o === two);
      if (op !== undefined) {
        out.push({ k: op, at });
        i += 2;
      } else if ('.*[]|!<>(){},:@&'.includes(c)) {
        if (c === '&') fail(ctx, `expression references ('&') are not supported (at ${at})`);
        out.push({ k: c, at });
        i += 1;
      } else if (c === '=') {
        fail(ctx, `'=' at ${at}; comparisons use '=='`);
      } else fail(ctx, `unexpected character ${JSON.stringify(c)} at ${at}`);
    }
  }
  out.push({ k: 'eof', at: q.length });
  if (out.length > MAX_QUERY_TOKENS) fail(ctx, `query has more than ${MAX_QUERY_TOKENS} tokens`);
  return out;
}

class JParser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly ctx: CallContext,
  ) {}

  private peek(): Tok {
    return this.toks[this.i] ?? { k: 'eof', at: -1 };
  }
  private take(): Tok {
    const t = this.peek();
    this.i += 1;
    return t;
  }
  private expect(k: string): Tok {
    const t = this.take();
    if (t.k !== k) fail(this.ctx, `expected '${k}' at ${t.at}, found '${t.k}'`);
    return t;
  }

  parse(): Node {
    const n = this.expr(0);
    if (this.peek().k !== 'eof') fail(this.ctx, `unexpected '${this.peek().k}' at ${this.peek().at}`);
    return n;
  }

  expr(rbp: number): Node {
    this.depth += 1;
    if (this.depth > POLICY_LIMITS.maxJsonDepth) fail(this.ctx, 'query nested too deeply');
    let left = this.nud(this.take());
    while (rbp < (BP[this.peek().k] ?? 0)) left = this.led(this.take(), left);
    this.depth -= 1;
    return left;
  }

  private nud(t: Tok): Node {
    switch (t.k) {
      case 'lit':
        return { t: 'literal', v: t.v as Json };
      case 'id':
        if (this.peek().k === '(') return this.call(t.v as string);
        return { t: 'field', name: t.v as string };
      case '@':
        return { t: 'current' };
      case '*':
        return { t: 'valueProject', l: { t: 'current' }, r: this.projRhs(BP['*'] ?? 0) };
      case '!':
        return { t: 'not', e: this.expr(BP['!'] ?? 0) };
      case '(': {
        const e = this.expr(0);
        this.expect(')');
        return e;
      }
      case '[]':
        return { t: 'flatten', l: { t: 'current' }, r: this.projRhs(BP['[]'] ?? 0) };
      case '[?':
        return this.filter({ t: 'current' });
      case '[': {
        const p = this.peek();
        if (p.k === 'num' || p.k === ':') return this.indexOrSlice({ t: 'current' });
        if (p.k === '*' && this.toks[this.i + 1]?.k === ']') {
          this.i += 2;
          return { t: 'project', l: { t: 'current' }, r: this.projRhs(BP['*'] ?? 0) };
        }
        return this.multiList();
      }
      case '{':
        return this.multiHash();
      default:
        return fail(this.ctx, `unexpected '${t.k}' at ${t.at}`);
    }
  }

  private led(t: Tok, left: Node): Node {
    switch (t.k) {
      case '.': {
        if (this.peek().k === '*') {
          this.take();
          return { t: 'valueProject', l: left, r: this.projRhs(BP['*'] ?? 0) };
        }
        return { t: 'sub', l: left, r: this.dotRhs() };
      }
      case '|':
        return { t: 'pipe', l: left, r: this.expr(BP['|'] ?? 0) };
      case '||':
        return { t: 'or', l: left, r: this.expr(BP['||'] ?? 0) };
      case '&&':
        return { t: 'and', l: left, r: this.expr(BP['&&'] ?? 0) };
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=':
        return { t: 'cmp', op: t.k, l: left, r: this.expr(BP[t.k] ?? 0) };
      case '[]':
        return { t: 'flatten', l: left, r: this.projRhs(BP['[]'] ?? 0) };
      case '[?':
        return this.filter(left);
      case '[': {
        const p = this.peek();
        if (p.k === 'num' || p.k === ':') return this.indexOrSlice(left);
        this.expect('*');
        this.expect(']');
        return { t: 'project', l: left, r: this.projRhs(BP['*'] ?? 0) };
      }
      default:
        return fail(this.ctx, `unexpected '${t.k}' at ${t.at}`);
    }
  }

  private dotRhs(): Node {
    const p = this.peek();
    if (p.k === 'id') return this.nud(this.take());
    if (p.k === '[') {
      this.take();
      return this.multiList();
    }
    if (p.k === '{') {
      this.take();
      return this.multiHash();
    }
    return fail(this.ctx, `expected an identifier after '.' at ${p.at}`);
  }

  private projRhs(rbp: number): Node {
    const p = this.peek();
    if ((BP[p.k] ?? 0) < PROJECTION_STOP) return { t: 'current' };
    if (p.k === '[' || p.k === '[?' || p.k === '[]') return this.expr(rbp);
    if (p.k === '.') {
      this.take();
      return this.dotRhs();
    }
    return fail(this.ctx, `unexpected '${p.k}' after a projection at ${p.at}`);
  }

  private filter(left: Node): Node {
    const cond = this.expr(0);
    this.expect(']');
    return { t: 'filter', l: left, cond, r: this.projRhs(BP['[?'] ?? 0) };
  }

  private indexOrSlice(left: Node): Node {
    const parts: (number | null)[] = [null, null, null];
    let slot = 0;
    let colons = 0;
    while (this.peek().k !== ']') {
      const t = this.take();
      if (t.k === ':') {
        colons += 1;
        slot += 1;
        if (colons > 2) fail(this.ctx, `too many ':' in a slice at ${t.at}`);
      } else if (t.k === 'num') parts[slot] = t.v as number;
      else fail(this.ctx, `unexpected '${t.k}' in an index at ${t.at}`);
    }
    this.take();
    if (colons === 0) return { t: 'index', l: left, i: parts[0] ?? 0 };
    if (parts[2] === 0) fail(this.ctx, 'slice step cannot be 0');
    return {
      t: 'project',
      l: { t: 'slice', l: left, start: parts[0] ?? null, stop: parts[1] ?? null, step: parts[2] ?? null },
      r: this.projRhs(BP['*'] ?? 0),
    };
  }

  private multiList(): Node {
    const items = [this.expr(0)];
    while (this.peek().k === ',') {
      this.take();
      items.push(this.expr(0));
    }
    this.expect(']');
    return { t: 'list', items };
  }

  private multiHash(): Node {
    const pairs: [string, Node][] = [];
    do {
      if (pairs.length > 0) this.take();
      const key = this.expect('id');
      this.expect(':');
      pairs.push([key.v as string, this.expr(0)]);
    } while (this.peek().k === ',');
    this.expect('}');
    return { t: 'hash', pairs };
  }

  private call(name: string): Node {
    this.expect('(');
    const args: Node[] = [];
    if (this.peek().k !== ')') {
      args.push(this.expr(0));
      while (this.peek().k === ',') {
        this.take();
        args.push(this.expr(0));
      }
    }
    this.expect(')');
    return { t: 'call', name, args };
  }
}

function truthy(v: Json): boolean {
  if (v === null || v === false || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i] ?? null));
  const ka = Object.keys(a);
  const ob = b as Record<string, Json>;
  const oa = a as Record<string, Json>;
  return (
    ka.length === Object.keys(ob).length &&
    ka.every((k) => k in ob && deepEqual(oa[k] ?? null, ob[k] ?? null))
  );
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

class JEval {
  constructor(private readonly ctx: CallContext) {}

  private arity(name: string, args: Json[], n: number): void {
    if (args.length !== n) fail(this.ctx, `${name}() takes ${n} argument(s), got ${args.length}`);
  }

  private call(name: string, args: Json[]): Json {
    const want = (i: number, type: string): Json => {
      const v = args[i] ?? null;
      if (typeName(v) !== type)
        fail(this.ctx, `${name}(): argument ${i + 1} must be ${type}, got ${typeName(v)}`);
      return v;
    };
    switch (name) {
      case 'length': {
        this.arity(name, args, 1);
        const v = args[0] ?? null;
        if (typeof v === 'string') {
          this.ctx.budget.chargeBytes(v.length, this.ctx.pos);
          return Array.from(v).length; // code points, as JMESPath specifies
        }
        if (Array.isArray(v)) return v.length;
        if (v !== null && typeof v === 'object') return Object.keys(v).length;
        return fail(this.ctx, `length(): argument must be a string, array or object, got ${typeName(v)}`);
      }
      case 'contains': {
        this.arity(name, args, 2);
        const [hay, needle] = [args[0] ?? null, args[1] ?? null];
        if (typeof hay === 'string') {
          if (typeof needle !== 'string') return false;
          this.ctx.budget.chargeBytes(hay.length + needle.length, this.ctx.pos);
          return hay.includes(needle);
        }
        if (Array.isArray(hay)) return hay.some((x) => deepEqual(x, needle));
        return fail(this.ctx, 'contains(): argument 1 must be a string or array');
      }
      case 'starts_with':
        this.arity(name, args, 2);
        return (want(0, 'string') as string).startsWith(want(1, 'string') as string);
      case 'ends_with':
        this.arity(name, args, 2);
        return (want(0, 'string') as string).endsWith(want(1, 'string') as string);
      case 'equals_ignore_case':
        this.arity(name, args, 2);
        return (want(0, 'string') as string).toLowerCase() === (want(1, 'string') as string).toLowerCase();
      case 'keys':
        this.arity(name, args, 1);
        return Object.keys(want(0, 'object') as object);
      case 'values':
        this.arity(name, args, 1);
        return Object.values(want(0, 'object') as Record<string, Json>);
      case 'type':
        this.arity(name, args, 1);
        return typeName(args[0] ?? null);
      case 'to_string': {
        this.arity(name, args, 1);
        const v = args[0] ?? null;
        return typeof v === 'string' ? v : stringifyBounded(v, 'to_string()', this.ctx.budget, this.ctx.pos);
      }
      case 'to_number': {
        this.arity(name, args, 1);
        const v = args[0] ?? null;
        if (typeof v === 'number') return v;
        if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) return Number(v);
        return null;
      }
      case 'not_null':
        return args.find((a) => a !== null) ?? null;
      case 'abs':
        this.arity(name, args, 1);
        return Math.abs(want(0, 'number') as number);
      case 'sum':
      case 'max':
      case 'min': {
        this.arity(name, args, 1);
        const list = want(0, 'array') as Json[];
        if (list.some((x) => typeof x !== 'number')) fail(this.ctx, `${name}(): the array must hold numbers`);
        const nums = list as number[];
        if (name === 'sum') return nums.reduce((a, b) => a + b, 0);
        if (nums.length === 0) return null;
        return name === 'max' ? Math.max(...nums) : Math.min(...nums);
      }
      case 'join': {
        this.arity(name, args, 2);
        const sep = want(0, 'string') as string;
        const list = want(1, 'array') as Json[];
        if (list.some((x) => typeof x !== 'string')) fail(this.ctx, 'join(): the array must hold strings');
        let total = sep.length * Math.max(0, list.length - 1);
        for (const x of list as string[]) total += x.length;
        if (total > POLICY_LIMITS.maxJsonChars) fail(this.ctx, 'join(): result too large');
        this.ctx.budget.chargeBytes(total, this.ctx.pos);
        const out = (list as string[]).join(sep);
        return out;
      }
      default:
        return fail(this.ctx, `function ${name}() is not supported`);
    }
  }

  run(n: Node, v: Json): Json {
    this.ctx.budget.charge(1, this.ctx.pos);
    switch (n.t) {
      case 'current':
        return v;
      case 'literal':
        return n.v;
      case 'field':
        return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v[n.name] ?? null) : null;
      case 'sub':
        return this.run(n.r, this.run(n.l, v));
      case 'pipe':
        return this.run(n.r, this.run(n.l, v));
      case 'index': {
        const base = this.run(n.l, v);
        if (!Array.isArray(base)) return null;
        const i = n.i < 0 ? base.length + n.i : n.i;
        return base[i] ?? null;
      }
      case 'slice': {
        const base = this.run(n.l, v);
        if (!Array.isArray(base)) return null;
        return slice(base, n.start, n.stop, n.step);
      }
      case 'project':
      case 'flatten':
      case 'valueProject':
      case 'filter': {
        let base = this.run(n.l, v);
        if (n.t === 'valueProject') {
          if (base === null || typeof base !== 'object' || Array.isArray(base)) return null;
          base = Object.values(base);
        }
        if (!Array.isArray(base)) return null;
        if (n.t === 'flatten') {
          const flat: Json[] = [];
          for (const x of base) {
            if (Array.isArray(x)) flat.push(...x);
            else flat.push(x);
          }
          base = flat;
        }
        const out: Json[] = [];
        for (const item of base) {
          if (n.t === 'filter' && !truthy(this.run(n.cond, item))) continue;
          const r = this.run(n.r, item);
          if (r !== null) out.push(r);
        }
        return out;
      }
      case 'or': {
        const l = this.run(n.l, v);
        return truthy(l) ? l : this.run(n.r, v);
      }
      case 'and': {
        const l = this.run(n.l, v);
        return truthy(l) ? this.run(n.r, v) : l;
      }
      case 'not':
        return !truthy(this.run(n.e, v));
      case 'cmp': {
        const l = this.run(n.l, v);
        const r = this.run(n.r, v);
        if (n.op === '==') return deepEqual(l, r);
        if (n.op === '!=') return !deepEqual(l, r);
        if (typeof l !== 'number' || typeof r !== 'number') return null;
        if (n.op === '<') return l < r;
        if (n.op === '<=') return l <= r;
        if (n.op === '>') return l > r;
        return l >= r;
      }
      case 'list':
        return v === null ? null : n.items.map((x) => this.run(x, v));
      case 'hash': {
        if (v === null) return null;
        const o: Record<string, Json> = {};
        for (const [k, x] of n.pairs) o[k] = this.run(x, v);
        return o;
      }
      case 'call':
        return this.call(
          n.name,
          n.args.map((a) => this.run(a, v)),
        );
    }
  }
}

function slice(list: Json[], start: number | null, stop: number | null, step: number | null): Json[] {
  const s = step ?? 1;
  const len = list.length;
  const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);
  const norm = (x: number | null, dflt: number): number => {
    if (x === null) return dflt;
    return x < 0 ? clamp(x + len, s < 0 ? -1 : 0, len) : clamp(x, 0, s < 0 ? len - 1 : len);
  };
  const a = norm(start, s > 0 ? 0 : len - 1);
  const b = norm(stop, s > 0 ? len : -1);
  const out: Json[] = [];
  if (s > 0) for (let i = a; i < b; i += s) out.push(list[i] ?? null);
  else for (let i = a; i > b; i += s) out.push(list[i] ?? null);
  return out;
}

/** Evaluates JMESPath `query` against `doc` (already parsed JSON). */
export function jmesPathSearch(doc: unknown, query: string, ctx: CallContext): unknown {
  if (query.length > MAX_QUERY_CHARS) fail(ctx, `query longer than ${MAX_QUERY_CHARS} characters`);
  const ast = new JParser(lex(query, ctx), ctx).parse();
  return new JEval(ctx).run(ast, doc as Json);
}
