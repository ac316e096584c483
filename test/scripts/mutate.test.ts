/**
 * The mutation runner (scripts/mutate/): which mutants the operators produce, how tests are scoped,
 * and what a run reports — on tiny fixture projects written to a temp directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyMutant,
  describeMutant,
  findMutants,
  sampleMutants,
  type OperatorName,
} from '../../scripts/mutate/operators.ts';
import { expandTestPatterns, globToRegExp, testsFor } from '../../scripts/mutate/test-scope.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const FIXTURE = `import type { Thing } from './thing.ts';
// a comment with a < b && c
export interface Shape { readonly n: number }
export function check(x: number, y: number, ok: boolean): boolean {
  if (x < y && !ok) throw new Error('ERR_FIXTURE');
  audit(x);
  const z = x + y;
  while (z > 10) return x === y;
  return ok ? true : x >= z;
}
export const isEven = (n: number): boolean => n % 2 === 0;
`;

function mutantsOf(text: string, operators?: readonly OperatorName[]): string[] {
  return findMutants('fixture.ts', text, operators === undefined ? {} : { operators }).map(
    (m) => `${m.id} ${m.original} -> ${m.replacement}`,
  );
}

test('operators: each classic operator yields exactly the expected mutants of a small source', () => {
  assert.deepEqual(mutantsOf(FIXTURE, ['relational']), [
    'relational@5:9 < -> <=',
    'relational@8:12 > -> >=',
    'relational@8:27 === -> !==',
    'relational@9:24 >= -> >',
    'relational@11:53 === -> !==',
  ]);
  assert.deepEqual(mutantsOf(FIXTURE, ['logical']), ['logical@5:13 && -> ||']);
  assert.deepEqual(mutantsOf(FIXTURE, ['negation-removal']), ['negation-removal@5:16 !ok -> ok']);
  assert.deepEqual(mutantsOf(FIXTURE, ['boolean-literal']), ['boolean-literal@9:15 true -> false']);
  assert.deepEqual(mutantsOf(FIXTURE, ['condition']), [
    'condition@5:7 x < y && !ok -> true',
    'condition@5:7#2 x < y && !ok -> false',
    'condition@8:10 z > 10 -> true',
    'condition@8:10#2 z > 10 -> false',
    'condition@9:10 ok -> true',
    'condition@9:10#2 ok -> false',
  ]);
  assert.deepEqual(mutantsOf(FIXTURE, ['statement-removal']), [
    "statement-removal@5:21 throw new Error('ERR_FIXTURE'); -> {}",
    'statement-removal@6:3 audit(x); -> {}',
  ]);
  // Without a type checker `+` is mutated unless a side is a string; `%` is not an operator here.
  assert.deepEqual(mutantsOf(FIXTURE, ['arithmetic']), ['arithmetic@7:15 + -> -']);
  assert.deepEqual(mutantsOf("const s = 'a' + n;\n", ['arithmetic']), []);
});

test('operators: returned booleans become true and false; early returns are removed', () => {
  assert.deepEqual(mutantsOf(FIXTURE, ['boolean-return']), [
    'boolean-return@8:25 x === y -> true',
    'boolean-return@8:25#2 x === y -> false',
    'boolean-return@11:47 n % 2 === 0 -> true',
    'boolean-return@11:47#2 n % 2 === 0 -> false',
  ]);
  // `return ok ? true : x >= z` is not syntactically boolean without a checker; a literal is never "returned".
  assert.deepEqual(
    mutantsOf('function f(a: number) {\n  if (a) return 1;\n  return 2;\n}\n', ['early-return-removal']),
    ['early-return-removal@2:10 return 1; -> {}'],
  );
});

test('operators: imports, type-only code, comments and string literals are never mutated', () => {
  const text = `import { a } from './a.ts';
export type T = { x: true; y: 1 | 2 };
interface I { f(): boolean }
declare const d: boolean;
// if (x < y) return true;
const code = 'ERR_X' + 'ERR_Y';
`;
  assert.deepEqual(mutantsOf(text), []);
});

test('operators: a mutant applies to its exact range and describes itself as a one-line diff', () => {
  const [m] = findMutants('f.ts', 'const a = x < y;\n', { operators: ['relational'] });
  assert.ok(m !== undefined);
  assert.equal(applyMutant('const a = x < y;\n', m), 'const a = x <= y;\n');
  assert.equal(describeMutant('const a = x < y;\n', m), '- const a = x < y;  + const a = x <= y;');
});

test('operators: a sample is deterministic for a seed and keeps source order', () => {
  const all = findMutants('fixture.ts', FIXTURE);
  const a = sampleMutants(all, 5, 7);
  assert.equal(a.length, 5);
  assert.deepEqual(
    a.map((m) => m.id),
    sampleMutants(all, 5, 7).map((m) => m.id),
  );
  assert.deepEqual(
    a.map((m) => m.start),
    [...a.map((m) => m.start)].sort((x, y) => x - y),
  );
  assert.notDeepEqual(
    a.map((m) => m.id),
    sampleMutants(all, 5, 8).map((m) => m.id),
  );
});

test('test scope: globs, and tests found through the reverse import graph', () => {
  assert.ok(globToRegExp('test/**/*.test.ts').test('test/a/b/c.test.ts'));
  assert.ok(globToRegExp('test/**/*.test.ts').test('test/c.test.ts'));
  assert.ok(!globToRegExp('test/*.test.ts').test('test/a/c.test.ts'));
  assert.deepEqual(expandTestPatterns(REPO_ROOT, ['test/scripts/mutate*.test.ts']), [
    'test/scripts/mutate.test.ts',
  ]);

  const root = mkdtempSync(join(tmpdir(), 'ccnodes-mutate-scope-'));
  try {
    const files: Record<string, string> = {
      'src/core/leaf.ts': 'export const leaf = 1;\n',
      'src/core/index.ts': "export { leaf } from './leaf.ts';\n",
      'src/cli/main.ts': "import { leaf } from '../core/index.ts';\nexport const m = leaf;\n",
      'test/core/direct.test.ts': "import { leaf } from '../../src/core/leaf.ts';\nvoid leaf;\n",
      'test/core/via-index.test.ts': "const m = await import('../../src/core/index.ts');\nvoid m;\n",
      'test/cli/main.test.ts': "import { m } from '../../src/cli/main.ts';\nvoid m;\n",
      'test/core/unrelated.test.ts': 'export {};\n',
    };
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    assert.deepEqual(testsFor(root, 'src/core/leaf.ts'), [
      'test/core/direct.test.ts',
      'test/core/via-index.test.ts',
    ]);
    assert.deepEqual(testsFor(root, 'src/core/leaf.ts', 'all'), [
      'test/cli/main.test.ts',
      'test/core/direct.test.ts',
      'test/core/via-index.test.ts',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A fixture project: two modules, one fully tested and one with an untested branch. */
function writeFixtureProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'ccnodes-mutate-run-'));
  const files: Record<string, string> = {
    'package.json': '{ "type": "module" }\n',
    'src/range.ts': [
      'export function inRange(x: number, lo: number, hi: number): boolean {',
      '  if (x < lo) return false;',
      '  if (x > hi) return false;',
      '  return true;',
      '}',
      '',
    ].join('\n'),
    'test/range.test.ts': [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { inRange } from '../src/range.ts';",
      "test('inRange includes both bounds and nothing outside them', () => {",
      '  assert.equal(inRange(0, 0, 9), true);',
      '  assert.equal(inRange(-1, 0, 9), false);',
      '  assert.equal(inRange(9, 0, 9), true);',
      '  assert.equal(inRange(10, 0, 9), false);',
      '});',
      '',
    ].join('\n'),
    'src/sign.ts': [
      'export function sign(x: number): string {',
      "  if (x > 0) return 'positive';",
      "  if (x < 0) return 'negative';",
      "  return 'zero';",
      '}',
      '',
    ].join('\n'),
    // Never asks about a negative number.
    'test/sign.test.ts': [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { sign } from '../src/sign.ts';",
      "test('sign', () => {",
      "  assert.equal(sign(5), 'positive');",
      "  assert.equal(sign(0), 'zero');",
      '});',
      '',
    ].join('\n'),
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

interface FileFigures {
  file: string;
  mutants: number;
  killed: number;
  survived: number;
  score: number;
  sampled: boolean;
  survivors: { id: string; diff: string }[];
}

function runMutate(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'mutate', 'run.ts'), ...args],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a run: a thoroughly tested module scores 100%, an untested branch is reported as survivors, and the sources are left untouched', () => {
  const root = writeFixtureProject();
  try {
    const before = readFileSync(join(root, 'src', 'sign.ts'), 'utf8');
    const r = runMutate([
      '--root',
      root,
      '--operators',
      'condition',
      '--json',
      'src/range.ts',
      'src/sign.ts',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] as string) as { files: FileFigures[]; score: number };
    const [range, sign] = summary.files;
    assert.ok(range !== undefined && sign !== undefined);

    assert.equal(range.file, 'src/range.ts');
    assert.equal(range.mutants, 4);
    assert.equal(range.killed, 4);
    assert.equal(range.score, 100);

    // sign(x) with x < 0 is never asked, so `if (x < 0)` → `if (false)` goes unnoticed.
    assert.equal(sign.file, 'src/sign.ts');
    assert.equal(sign.mutants, 4);
    assert.deepEqual(
      sign.survivors.map((s) => s.id),
      ['condition@3:7#2'],
    );
    assert.equal(sign.survivors[0]?.diff, "- if (x < 0) return 'negative';  + if (false) return 'negative';");
    assert.equal(sign.score, 75);
    assert.equal(sign.sampled, false);
    // Progress lines name the mutant by its id, the #2 suffix included (what --ids takes).
    assert.match(r.stderr, /src\/sign\.ts condition@3:7#2 survived/);
    assert.equal(readFileSync(join(root, 'src', 'sign.ts'), 'utf8'), before);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a run refuses to start when the unmutated tests fail', () => {
  const root = writeFixtureProject();
  try {
    writeFileSync(join(root, 'src', 'range.ts'), 'export function inRange(): boolean {\n  return true;\n}\n');
    const r = runMutate(['--root', root, '--operators', 'relational', 'src/range.ts']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unmutated tests fail for src\/range\.ts/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
