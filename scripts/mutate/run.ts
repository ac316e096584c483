/**
 * `npm run mutate -- <file…>`: mutation testing with our own small runner (docs/testing.md).
 *
 * For each source file: find its mutants (operators.ts), find the tests that exercise it
 * (test-scope.ts, or `--tests`), copy the repository into a temp directory (never touching the
 * checkout, where others run tests), run the unmutated tests there once (the baseline, which must
 * pass), then for each mutant write the mutated file into the copy, run the tests and restore the
 * file. A mutant is killed when the tests fail or run past the timeout (a multiple of the baseline).
 *
 * The last line printed is one JSON object with the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  OPERATORS,
  applyMutant,
  checkerFor,
  describeMutant,
  findMutants,
  type Mutant,
  sampleMutants,
  type OperatorName,
} from './operators.ts';
import { expandTestPatterns, testsFor, type Scope } from './test-scope.ts';

const USAGE = `usage: npm run mutate -- <source file…> [options]

  --tests <file|glob…>   test files to run for every mutant (default: the tests that import the
                         file, directly or transitively; see --scope)
  --scope layer|all      layer (default): only importers under test/<layer>/ when there are any;
                         all: every importing test file
  --concurrency N        mutants run at once, each in its own copy (default 1)
  --max-mutants N        test a seeded random sample of N mutants per file (reported as sampled)
  --seed S               seed of the sample (default 1)
  --line A-B             only mutants starting on lines A..B (or one line A)
  --ids a,b              only the mutants with these ids (e.g. condition@12:7#2, from a report)
  --operators a,b        only these operators (${OPERATORS.join(', ')})
  --timeout-factor F     a mutant times out after F x baseline + 5 s (default 3)
  --no-bail              run every test even after one failed (default: stop at the first failure)
  --threshold P          exit 1 when a file scores below P %
  --list                 list the mutants and exit, without running anything
  --json                 progress on stderr; stdout is one JSON object with survivors listed
  --root DIR             repository to mutate (default: this checkout)
`;

interface Args {
  files: string[];
  tests: string[] | undefined;
  scope: Scope;
  concurrency: number;
  maxMutants: number | undefined;
  seed: number;
  lines: [number, number] | undefined;
  operators: OperatorName[] | undefined;
  ids: string[] | undefined;
  timeoutFactor: number;
  bail: boolean;
  threshold: number | undefined;
  list: boolean;
  json: boolean;
  root: string;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    files: [],
    tests: undefined,
    scope: 'layer',
    concurrency: 1,
    maxMutants: undefined,
    seed: 1,
    lines: undefined,
    operators: undefined,
    ids: undefined,
    timeoutFactor: 3,
    bail: true,
    threshold: undefined,
    list: false,
    json: false,
    root: resolve(fileURLToPath(new URL('../..', import.meta.url))),
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min)
      throw new UsageError(`${flag} needs a number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--tests': {
        const list: string[] = [];
        while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--'))
          list.push(argv[++i] as string);
        if (list.length === 0) throw new UsageError('--tests needs at least one file or glob');
        args.tests = [...(args.tests ?? []), ...list];
        break;
      }
      case '--scope': {
        const v = next();
        if (v !== 'layer' && v !== 'all') throw new UsageError('--scope is layer or all');
        args.scope = v;
        break;
      }
      case '--concurrency':
        args.concurrency = Math.floor(num(a, next(), 1));
        break;
      case '--max-mutants':
        args.maxMutants = Math.floor(num(a, next(), 1));
        break;
      case '--seed':
        args.seed = Math.floor(num(a, next(), 0));
        break;
      case '--line': {
        const v = next() ?? '';
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        if (m === null) throw new UsageError('--line is A-B or A');
        const from = Number(m[1]);
        args.lines = [from, m[2] === undefined ? from : Number(m[2])];
        break;
      }
      case '--operators': {
        const names = (next() ?? '').split(',').filter((s) => s !== '');
        for (const n of names) {
          if (!(OPERATORS as readonly string[]).includes(n)) throw new UsageError(`unknown operator ${n}`);
        }
        args.operators = names as OperatorName[];
        break;
      }
      case '--ids':
        args.ids = (next() ?? '').split(',').filter((s) => s !== '');
        break;
      case '--timeout-factor':
        args.timeoutFactor = num(a, next(), 1);
        break;
      case '--no-bail':
        args.bail = false;
        break;
      case '--threshold':
        args.threshold = num(a, next(), 0);
        break;
      case '--list':
        args.list = true;
        break;
      case '--json':
        args.json = true;
        break;
      case '--root':
        args.root = resolve(next() ?? '.');
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
        args.files.push(a);
    }
  }
  if (args.files.length === 0) throw new UsageError('give at least one source file');
  return args;
}

const SKIP_ENTRIES = new Set(['.git', 'node_modules', '.tmp', 'dist', 'coverage']);

/** A copy of the repository under the OS temp dir, with node_modules linked, not copied. */
function makeCopy(root: string, parent: string, index: number): string {
  const dir = join(parent, `copy-${index}`);
  for (const entry of readdirSync(root)) {
    if (SKIP_ENTRIES.has(entry)) continue;
    cpSync(join(root, entry), join(dir, entry), { recursive: true, verbatimSymlinks: true });
  }
  if (existsSync(join(root, 'node_modules')))
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

type Outcome = 'killed' | 'survived' | 'timeout';

interface RunResult {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly ms: number;
  readonly tail: string;
}

const active = new Set<ChildProcess>();
const TSX = import.meta.resolve('tsx');

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs `tests` in `cwd`; with `bail`, stops at the first failing test. */
function runTests(
  cwd: string,
  tests: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  bail: boolean,
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', TSX, '--test', '--test-reporter=tap', ...tests], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    active.add(child);
    let tail = '';
    let failed = false;
    let timedOut = false;
    let pending = '';
    const keep = (chunk: string): void => {
      tail = (tail + chunk).slice(-6000);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      keep(chunk);
      if (!bail || failed) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((l) => /^\s*not ok \d+/.test(l) && !/#\s*(TODO|SKIP)\b/i.test(l))) {
        failed = true;
        killGroup(child);
      }
    });
    child.stderr.setEncoding('utf8').on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      killGroup(child);
      active.delete(child);
      resolvePromise({ ok: code === 0 && !failed && !timedOut, timedOut, ms: Date.now() - started, tail });
    });
  });
}

interface FileReport {
  file: string;
  tests: string[];
  baselineMs: number;
  totalMutants: number;
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  score: number;
  sampled: boolean;
  survivors: { id: string; operator: OperatorName; line: number; col: number; diff: string }[];
}

function score(killed: number, timeout: number, mutants: number): number {
  return mutants === 0 ? 100 : Math.round(((killed + timeout) / mutants) * 1000) / 10;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`mutate: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const out = (line: string): void => {
    (args.json ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const root = args.root;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Set when this runner itself runs under `node --test`; the child test runs must not inherit it.
  delete env['NODE_TEST_CONTEXT'];
  const sharedData = resolve(root, '..', 'shared', 'testdata');
  if (env['CCNODES_TESTDATA'] === undefined && existsSync(sharedData)) env['CCNODES_TESTDATA'] = sharedData;
  // The copy is elsewhere; without this, ../shared/testdata would not resolve from it.

  const plans: { file: string; text: string; mutants: Mutant[]; total: number; tests: string[] }[] = [];
  for (const f of args.files) {
    const abs = resolve(root, f);
    const file = relative(root, abs).split(sep).join('/');
    if (!existsSync(abs) || file.startsWith('..')) {
      process.stderr.write(`mutate: ${f} is not a file inside ${root}\n`);
      return 2;
    }
    const text = readFileSync(abs, 'utf8');
    const typed = existsSync(join(root, 'tsconfig.json'))
      ? checkerFor(abs, join(root, 'tsconfig.json'))
      : undefined;
    let mutants = findMutants(abs, text, {
      ...(typed !== undefined && typed.sourceFile.text === text ? typed : {}),
      ...(args.operators !== undefined ? { operators: args.operators } : {}),
    });
    if (args.lines !== undefined) {
      const [a, b] = args.lines;
      mutants = mutants.filter((m) => m.line >= a && m.line <= b);
    }
    if (args.ids !== undefined) {
      const ids = new Set(args.ids);
      mutants = mutants.filter((m) => ids.has(m.id));
    }
    const total = mutants.length;
    if (args.maxMutants !== undefined) mutants = sampleMutants(mutants, args.maxMutants, args.seed);
    let tests: string[];
    try {
      tests =
        args.tests !== undefined ? expandTestPatterns(root, args.tests) : testsFor(root, abs, args.scope);
    } catch (error) {
      process.stderr.write(`mutate: ${(error as Error).message}\n`);
      return 2;
    }
    plans.push({ file, text, mutants, total, tests });
  }

  if (args.list) {
    for (const p of plans) {
      out(`${p.file}: ${p.mutants.length} of ${p.total} mutants; tests: ${p.tests.join(' ') || '(none)'}`);
      for (const m of p.mutants) out(`  ${m.id}  ${describeMutant(p.text, m)}`);
    }
    const figures = plans.map((p) => ({ file: p.file, mutants: p.mutants.length, totalMutants: p.total }));
    process.stdout.write(`${JSON.stringify({ list: figures })}\n`);
    return 0;
  }

  const work = mkdtempSync(join(tmpdir(), 'ccnodes-mutate-'));
  const cleanup = (): void => {
    for (const c of active) killGroup(c);
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const reports: FileReport[] = [];
  try {
    const copies = Array.from({ length: args.concurrency }, (_, i) => makeCopy(root, work, i));
    out(`mutate: working copies under ${work}`);
    for (const plan of plans) {
      if (plan.tests.length === 0) {
        process.stderr.write(`mutate: no test file imports ${plan.file}; pass --tests\n`);
        return 2;
      }
      out(
        `${plan.file}: ${plan.mutants.length}${plan.mutants.length < plan.total ? ` of ${plan.total}` : ''} mutants`,
      );
      out(`  tests: ${plan.tests.join(' ')}`);
      const baseline = await runTests(copies[0] as string, plan.tests, env, 30 * 60_000, false);
      if (!baseline.ok) {
        process.stderr.write(
          `${baseline.tail}\nmutate: the unmutated tests fail for ${plan.file}; fix them first\n`,
        );
        return 2;
      }
      const timeoutMs = Math.round(args.timeoutFactor * baseline.ms + 5000);
      out(
        `  baseline: ${(baseline.ms / 1000).toFixed(1)} s, mutant timeout ${(timeoutMs / 1000).toFixed(1)} s`,
      );

      const outcomes = new Map<Mutant, Outcome>();
      let next = 0;
      let done = 0;
      const worker = async (copy: string): Promise<void> => {
        const target = join(copy, plan.file);
        for (;;) {
          const m = plan.mutants[next++];
          if (m === undefined) return;
          writeFileSync(target, applyMutant(plan.text, m));
          let r: RunResult;
          try {
            r = await runTests(copy, plan.tests, env, timeoutMs, args.bail);
          } finally {
            writeFileSync(target, plan.text);
          }
          const outcome: Outcome = r.timedOut ? 'timeout' : r.ok ? 'survived' : 'killed';
          outcomes.set(m, outcome);
          done++;
          out(
            `  [${done}/${plan.mutants.length}] ${plan.file} ${m.id} ${outcome} (${(r.ms / 1000).toFixed(1)} s)`,
          );
        }
      };
      await Promise.all(copies.map((c) => worker(c)));

      const count = (o: Outcome): number => [...outcomes.values()].filter((x) => x === o).length;
      const killed = count('killed');
      const timeout = count('timeout');
      const survivors = plan.mutants.filter((m) => outcomes.get(m) === 'survived');
      const report: FileReport = {
        file: plan.file,
        tests: plan.tests,
        baselineMs: baseline.ms,
        totalMutants: plan.total,
        mutants: plan.mutants.length,
        killed,
        timeout,
        survived: survivors.length,
        score: score(killed, timeout, plan.mutants.length),
        sampled: plan.mutants.length < plan.total,
        survivors: survivors.map((m) => ({
          id: m.id,
          operator: m.operator,
          line: m.line,
          col: m.col,
          diff: describeMutant(plan.text, m),
        })),
      };
      reports.push(report);
      out(
        `${plan.file}: ${report.mutants} mutants${report.sampled ? ` (sample of ${report.totalMutants}, seed ${args.seed})` : ''}, ` +
          `${killed} killed, ${timeout} timed out, ${survivors.length} survived — score ${report.score}%`,
      );
      for (const s of report.survivors) out(`  survived ${s.id}  ${s.diff}`);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }

  const sum = (k: 'mutants' | 'killed' | 'timeout' | 'survived'): number =>
    reports.reduce((acc, r) => acc + r[k], 0);
  const summary = {
    files: reports.map((r) =>
      args.json
        ? r
        : {
            file: r.file,
            mutants: r.mutants,
            totalMutants: r.totalMutants,
            killed: r.killed,
            timeout: r.timeout,
            survived: r.survived,
            score: r.score,
            sampled: r.sampled,
          },
    ),
    mutants: sum('mutants'),
    killed: sum('killed'),
    timeout: sum('timeout'),
    survived: sum('survived'),
    score: score(sum('killed'), sum('timeout'), sum('mutants')),
    ...(args.maxMutants !== undefined ? { seed: args.seed } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (args.threshold !== undefined && reports.some((r) => r.score < (args.threshold as number))) return 1;
  return 0;
}

process.exitCode = await main();
