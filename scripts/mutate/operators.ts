/**
 * Mutation operators: from one TypeScript source file, the list of small, syntactically valid edits
 * ("mutants") that a good test suite should notice. Each mutant is a replacement of one exact text
 * range found through the TypeScript compiler's syntax tree, so comments, imports and type-only code
 * are never touched.
 *
 * Operators (docs/testing.md describes them with examples):
 * - `relational`: `<`↔`<=`, `>`↔`>=`, `===`↔`!==`, `==`↔`!=`;
 * - `logical`: `&&`↔`||`;
 * - `arithmetic`: `+`↔`-` (numbers and bigints only, when the checker knows the type), `*`↔`/`,
 *   `+=`↔`-=`;
 * - `negation-removal`: `!x` → `x`;
 * - `condition`: the condition of `if`, `while`, `do`, `for` and `?:` → `true` and → `false`;
 * - `boolean-literal`: `true`↔`false`;
 * - `boolean-return`: a returned boolean expression (also an arrow function's boolean body) →
 *   `true` and → `false`;
 * - `statement-removal`: a `throw` statement, or a call at statement level (`check(x);`,
 *   `await send();`, `list.push(y);`) → `{}`;
 * - `early-return-removal`: a `return` that is the branch of an `if` (or the last statement of
 *   such a branch) → `{}`.
 * String literals are never mutated: error codes and messages would only add noise.
 */
import ts from 'typescript';

/** One mutant: replace `[start, end)` of the original text with `replacement`. */
export interface Mutant {
  /** Stable name within the file: `operator@line:col` (plus `#n` when one position has several). */
  readonly id: string;
  readonly operator: OperatorName;
  /** 1-based line and column of `start`. */
  readonly line: number;
  readonly col: number;
  readonly start: number;
  readonly end: number;
  readonly original: string;
  readonly replacement: string;
}

export type OperatorName =
  | 'relational'
  | 'logical'
  | 'arithmetic'
  | 'negation-removal'
  | 'condition'
  | 'boolean-literal'
  | 'boolean-return'
  | 'statement-removal'
  | 'early-return-removal';

export const OPERATORS: readonly OperatorName[] = [
  'relational',
  'logical',
  'arithmetic',
  'negation-removal',
  'condition',
  'boolean-literal',
  'boolean-return',
  'statement-removal',
  'early-return-removal',
];

const RELATIONAL: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.LessThanToken, '<='],
  [ts.SyntaxKind.LessThanEqualsToken, '<'],
  [ts.SyntaxKind.GreaterThanToken, '>='],
  [ts.SyntaxKind.GreaterThanEqualsToken, '>'],
  [ts.SyntaxKind.EqualsEqualsEqualsToken, '!=='],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken, '==='],
  [ts.SyntaxKind.EqualsEqualsToken, '!='],
  [ts.SyntaxKind.ExclamationEqualsToken, '=='],
]);

const LOGICAL: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.AmpersandAmpersandToken, '||'],
  [ts.SyntaxKind.BarBarToken, '&&'],
]);

const ARITHMETIC: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.PlusToken, '-'],
  [ts.SyntaxKind.MinusToken, '+'],
  [ts.SyntaxKind.AsteriskToken, '/'],
  [ts.SyntaxKind.SlashToken, '*'],
  [ts.SyntaxKind.PlusEqualsToken, '-='],
  [ts.SyntaxKind.MinusEqualsToken, '+='],
]);

/** Options of `findMutants`. */
export interface FindOptions {
  /**
   * A type checker for the file (from a `ts.Program` that contains it). Without one, `+`/`+=` are
   * mutated only when neither side is a string or template literal, and `boolean-return` applies only
   * to expressions that are syntactically boolean (comparisons, `!x`, `&&`/`||` of those).
   */
  readonly checker?: ts.TypeChecker;
  /** The parsed file when the caller already has it (it must match `text`). */
  readonly sourceFile?: ts.SourceFile;
  /** Restrict to these operators. */
  readonly operators?: readonly OperatorName[];
}

/** Every mutant of `text` (the contents of `fileName`), sorted by position. */
export function findMutants(fileName: string, text: string, options: FindOptions = {}): Mutant[] {
  const sf = options.sourceFile ?? ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const enabled = new Set(options.operators ?? OPERATORS);
  const checker = options.checker;
  const raw: Omit<Mutant, 'id' | 'line' | 'col'>[] = [];

  const add = (operator: OperatorName, start: number, end: number, replacement: string): void => {
    if (!enabled.has(operator)) return;
    raw.push({ operator, start, end, original: text.slice(start, end), replacement });
  };
  const addNode = (operator: OperatorName, node: ts.Node, replacement: string): void => {
    add(operator, node.getStart(sf), node.getEnd(), replacement);
  };

  const isNumeric = (node: ts.Expression): boolean => {
    if (checker !== undefined) {
      const type = checker.getTypeAtLocation(node);
      return (type.flags & (ts.TypeFlags.NumberLike | ts.TypeFlags.BigIntLike)) !== 0;
    }
    return !ts.isStringLiteralLike(node) && !ts.isTemplateExpression(node);
  };

  const isBoolean = (node: ts.Expression): boolean => {
    const inner = skipParens(node);
    if (inner.kind === ts.SyntaxKind.TrueKeyword || inner.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (checker !== undefined) {
      const type = checker.getTypeAtLocation(node);
      return (type.flags & ts.TypeFlags.BooleanLike) !== 0;
    }
    return syntacticallyBoolean(inner);
  };

  const conditionMutants = (cond: ts.Expression): void => {
    const inner = skipParens(cond);
    if (inner.kind === ts.SyntaxKind.TrueKeyword || inner.kind === ts.SyntaxKind.FalseKeyword) return;
    addNode('condition', cond, 'true');
    addNode('condition', cond, 'false');
  };

  const returnMutants = (expr: ts.Expression): void => {
    if (!isBoolean(expr)) return;
    addNode('boolean-return', expr, 'true');
    addNode('boolean-return', expr, 'false');
  };

  const visit = (node: ts.Node): void => {
    if (isTypeOnly(node)) return;

    if (ts.isBinaryExpression(node)) {
      const kind = node.operatorToken.kind;
      const rel = RELATIONAL.get(kind);
      const log = LOGICAL.get(kind);
      const ari = ARITHMETIC.get(kind);
      if (rel !== undefined) addNode('relational', node.operatorToken, rel);
      else if (log !== undefined) addNode('logical', node.operatorToken, log);
      else if (ari !== undefined) {
        const plusLike =
          kind === ts.SyntaxKind.PlusToken ||
          kind === ts.SyntaxKind.PlusEqualsToken ||
          kind === ts.SyntaxKind.MinusToken ||
          kind === ts.SyntaxKind.MinusEqualsToken;
        if (!plusLike || (isNumeric(node.left) && isNumeric(node.right)))
          addNode('arithmetic', node.operatorToken, ari);
      }
    } else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
      // `!!x` → `!x` is a different mutant from `!x` → `x`; both are fine.
      addNode('negation-removal', node, text.slice(node.operand.getStart(sf), node.operand.getEnd()));
    } else if (node.kind === ts.SyntaxKind.TrueKeyword) {
      addNode('boolean-literal', node, 'false');
    } else if (node.kind === ts.SyntaxKind.FalseKeyword) {
      addNode('boolean-literal', node, 'true');
    } else if (ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)) {
      conditionMutants(node.expression);
    } else if (ts.isForStatement(node) && node.condition !== undefined) {
      conditionMutants(node.condition);
    } else if (ts.isConditionalExpression(node)) {
      conditionMutants(node.condition);
    } else if (ts.isReturnStatement(node)) {
      if (node.expression !== undefined) returnMutants(node.expression);
      if (isEarlyReturn(node)) addNode('early-return-removal', node, '{}');
    } else if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) {
      returnMutants(node.body);
    } else if (ts.isThrowStatement(node)) {
      addNode('statement-removal', node, '{}');
    } else if (ts.isExpressionStatement(node) && isCallStatement(node.expression)) {
      addNode('statement-removal', node, '{}');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);

  raw.sort((a, b) => a.start - b.start || a.end - b.end);
  const seen = new Map<string, number>();
  return raw.map((m) => {
    const pos = sf.getLineAndCharacterOfPosition(m.start);
    const base = `${m.operator}@${pos.line + 1}:${pos.character + 1}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { ...m, id: n === 1 ? base : `${base}#${n}`, line: pos.line + 1, col: pos.character + 1 };
  });
}

/** `text` with `mutant` applied. */
export function applyMutant(text: string, mutant: Mutant): string {
  return text.slice(0, mutant.start) + mutant.replacement + text.slice(mutant.end);
}

/** A one-line, diff-like description: `- <original line>  + <mutated line>` (whitespace collapsed). */
export function describeMutant(text: string, mutant: Mutant): string {
  const lineStart = text.lastIndexOf('\n', mutant.start - 1) + 1;
  const endNl = text.indexOf('\n', mutant.end);
  const lineEnd = endNl === -1 ? text.length : endNl;
  const before = text.slice(lineStart, lineEnd);
  const after = text.slice(lineStart, mutant.start) + mutant.replacement + text.slice(mutant.end, lineEnd);
  const squash = (s: string): string => {
    const one = s.replace(/\s+/g, ' ').trim();
    return one.length > 100 ? `${one.slice(0, 97)}...` : one;
  };
  return `- ${squash(before)}  + ${squash(after)}`;
}

/** Deterministic PRNG (mulberry32) for `--max-mutants` samples. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` mutants chosen at random with `seed`, kept in source order. */
export function sampleMutants(mutants: readonly Mutant[], n: number, seed: number): Mutant[] {
  if (n >= mutants.length) return [...mutants];
  const rand = prng(seed);
  const order = mutants.map((m, i) => ({ m, i, k: rand() }));
  order.sort((a, b) => a.k - b.k);
  return order
    .slice(0, n)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.m);
}

function skipParens(node: ts.Expression): ts.Expression {
  let n = node;
  while (ts.isParenthesizedExpression(n)) n = n.expression;
  return n;
}

function syntacticallyBoolean(node: ts.Expression): boolean {
  const n = skipParens(node);
  if (ts.isPrefixUnaryExpression(n)) return n.operator === ts.SyntaxKind.ExclamationToken;
  if (ts.isBinaryExpression(n)) {
    const k = n.operatorToken.kind;
    if (RELATIONAL.has(k) || k === ts.SyntaxKind.InstanceOfKeyword || k === ts.SyntaxKind.InKeyword)
      return true;
    if (LOGICAL.has(k)) return syntacticallyBoolean(n.left) && syntacticallyBoolean(n.right);
  }
  return false;
}

function isCallStatement(expr: ts.Expression): boolean {
  let e = expr;
  if (ts.isAwaitExpression(e) || ts.isVoidExpression(e)) e = e.expression;
  return ts.isCallExpression(e) || (ts.isNewExpression(e) && e.arguments !== undefined);
}

/** A return that is an `if` branch, or the last statement of a block that is an `if` branch. */
function isEarlyReturn(node: ts.ReturnStatement): boolean {
  const parent = node.parent;
  if (ts.isIfStatement(parent)) return true;
  if (ts.isBlock(parent) && ts.isIfStatement(parent.parent)) return true;
  return false;
}

function isTypeOnly(node: ts.Node): boolean {
  if (ts.isTypeNode(node)) return true;
  if (
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isImportDeclaration(node) ||
    ts.isImportEqualsDeclaration(node) ||
    ts.isExportDeclaration(node) ||
    ts.isDecorator(node)
  )
    return true;
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return mods?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) ?? false;
}

/**
 * A type checker for `file`, from a program built with the project's tsconfig.json (only `file`
 * and what it imports are loaded). Undefined when the tsconfig cannot be read.
 */
export function checkerFor(
  file: string,
  tsconfigPath: string,
): { checker: ts.TypeChecker; sourceFile: ts.SourceFile } | undefined {
  const read = ts.readConfigFile(tsconfigPath, (p) => ts.sys.readFile(p));
  if (read.error !== undefined) return undefined;
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, tsconfigPath.replace(/[^/\\]+$/, ''));
  const program = ts.createProgram({ rootNames: [file], options: { ...parsed.options, noEmit: true } });
  const sourceFile = program.getSourceFile(file);
  if (sourceFile === undefined) return undefined;
  return { checker: program.getTypeChecker(), sourceFile };
}
