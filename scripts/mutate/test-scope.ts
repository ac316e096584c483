/**
 * Which test files exercise a source file: the reverse of the relative-import graph of the
 * repository's TypeScript files (static `import`/`export … from` and dynamic `import('…')`).
 * A test file is in scope when it imports the source file directly or through other files.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const IMPORT_RE =
  /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every `.ts` file under `dir` (absolute paths), skipping node_modules and dot directories. */
export function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTsFiles(p));
    else if (entry.isFile() && p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers imported by `text`, resolved against `file`'s directory. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (spec === undefined || !spec.startsWith('.')) continue;
    const target = resolveSpecifier(dirname(file), spec);
    if (target !== undefined) out.push(target);
  }
  return out;
}

function resolveSpecifier(fromDir: string, spec: string): string | undefined {
  const base = resolve(fromDir, spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  for (const c of candidates) {
    if (c.endsWith('.ts') && existsSync(c) && statSync(c).isFile()) return c;
  }
  return undefined;
}

/** Map from each file to the files that import it, over every `.ts` file under `roots`. */
export function reverseImportGraph(roots: readonly string[]): Map<string, Set<string>> {
  const reverse = new Map<string, Set<string>>();
  for (const root of roots) {
    for (const file of listTsFiles(root)) {
      for (const target of importsOf(file, readFileSync(file, 'utf8'))) {
        let set = reverse.get(target);
        if (set === undefined) reverse.set(target, (set = new Set()));
        set.add(file);
      }
    }
  }
  return reverse;
}

const THROUGH_CLI = /^src\/(cli|bin)\//;

/** How test files are chosen for a source file. */
export type Scope = 'layer' | 'all';

/**
 * Test files (`test/**\/*.test.ts`, repository-relative, sorted) that import `sourceFile` directly
 * or transitively. With scope `layer`, only those under `test/<layer>/` where `<layer>` is the
 * source file's top directory under `src/` (falling back to every importer when none is there),
 * and not through the CLI (`src/cli/`, `src/bin/`): most modules re-export through an index.ts
 * that half the suite imports, and the layer's own tests are the ones written against the module.
 */
export function testsFor(repoRoot: string, sourceFile: string, scope: Scope = 'layer'): string[] {
  const graph = reverseImportGraph([join(repoRoot, 'src'), join(repoRoot, 'test')]);
  const start = resolve(repoRoot, sourceFile);
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const f = queue.shift() as string;
    for (const importer of graph.get(f) ?? []) {
      if (scope === 'layer' && THROUGH_CLI.test(relative(repoRoot, importer).split(sep).join('/'))) continue;
      if (!seen.has(importer)) {
        seen.add(importer);
        queue.push(importer);
      }
    }
  }
  const tests = [...seen]
    .map((f) => relative(repoRoot, f).split(sep).join('/'))
    .filter((f) => f.startsWith('test/') && f.endsWith('.test.ts'))
    .sort();
  if (scope === 'all') return tests;
  const rel = relative(repoRoot, start).split(sep).join('/');
  const layer = /^src\/([^/]+)\//.exec(rel)?.[1];
  const own = layer === undefined ? [] : tests.filter((t) => t.startsWith(`test/${layer}/`));
  return own.length > 0 ? own : tests;
}

/**
 * Repository-relative files matching `patterns` (plain paths, or globs with `*`, `**` and `?`),
 * searched among every file under `repoRoot/test` and `repoRoot/scripts`.
 */
export function expandTestPatterns(repoRoot: string, patterns: readonly string[]): string[] {
  const out = new Set<string>();
  let all: string[] | undefined;
  for (const p of patterns) {
    const norm = p.replace(/^\.\//, '');
    if (!/[*?]/.test(norm)) {
      if (!existsSync(join(repoRoot, norm))) throw new Error(`--tests: no such file ${p}`);
      out.add(norm);
      continue;
    }
    all ??= [...listTsFiles(join(repoRoot, 'test')), ...listTsFiles(join(repoRoot, 'scripts'))].map((f) =>
      relative(repoRoot, f).split(sep).join('/'),
    );
    const re = globToRegExp(norm);
    const hits = all.filter((f) => re.test(f));
    if (hits.length === 0) throw new Error(`--tests: no file matches ${p}`);
    for (const h of hits) out.add(h);
  }
  return [...out].sort();
}

/** A glob (`**` any path, `*` any name part, `?` one character) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
