/**
 * Start-up time of the installed CLI (`npm run bench -- cli-startup`), issue 15's target: under
 * 200 ms for `ccnodes --help` and for `ccnodes quote verify` on a real quote, measured against
 * `node -e 0` on the same machine.
 *
 * The package is staged as `npm install` leaves it (bin/ccnodes.js next to the precompiled dist/
 * and no src/, so the shim runs the build, no tsx), under .tmp/ in the checkout so that its
 * external packages load from the repository's node_modules. Each round runs the three commands
 * once, in turn, as fresh processes (wall time from spawn to exit); the first rounds are warm-up.
 * The quote is the shared real vector phala-dcap-qvl/sgx_quote with its collateral bundle (the
 * bench says so and measures only `--help` when the shared test data is absent).
 *
 * Last line: {"bench":"cli-startup","ours":<median ms of --help>,"target":200,"unit":"ms",
 * "help":{median,p90},"quoteVerify":{median,p90},"node":{median,p90},"helpOverNode":ms,
 * "quoteVerifyOverNode":ms,"cpuMedianMs":{node,help,quoteVerify},"cpuP90Ms":{…},
 * "meetsTarget":{help,quoteVerify},"modules":{help:{files,kib,builtins},quoteVerify:{…}},
 * "rounds":N,"loadavg":[…]}. The CPU time of each child (user + system, from /proc/self/stat's
 * cutime/cstime, 10 ms resolution) is less disturbed than wall time when other work shares the
 * machine. `modules` comes from one extra, untimed run of each command with a module-load hook:
 * how many JavaScript files (dist chunks and packages) and Node built-in modules it loads, which
 * is what lazy loading per command is about.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildCli } from '../scripts/build.ts';
import { TESTDATA_PRESENT, testdataPath } from '../test/support/testdata.ts';

const TARGET_MS = 200;
const ROUNDS = Number(process.env['CLI_STARTUP_ROUNDS'] ?? 21);
const WARMUP = 3;

const repo = fileURLToPath(new URL('..', import.meta.url));
const stage = join(repo, '.tmp', 'bench-cli-startup');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
cpSync(join(repo, 'bin'), join(stage, 'bin'), { recursive: true });
cpSync(join(repo, 'proto'), join(stage, 'proto'), { recursive: true });
writeFileSync(join(stage, 'package.json'), JSON.stringify({ name: 'ccnodes', type: 'module' }));
await buildCli({ outdir: join(stage, 'dist'), urlBase: join(repo, 'dist'), sourcemap: false });
const bin = join(stage, 'bin', 'ccnodes.js');

const quote = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote');
const collateral = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json');
const commands: Record<string, { args: string[]; status: number }> = {
  node: { args: ['-e', '0'], status: 0 },
  help: { args: [bin, '--help'], status: 0 },
  ...(TESTDATA_PRESENT
    ? {
        quoteVerify: {
          args: [bin, 'quote', 'verify', quote, '--collateral', collateral, '--now', '2025-07-19T10:01:17Z'],
          status: 0,
        },
      }
    : {}),
};
if (!TESTDATA_PRESENT) process.stdout.write('shared test data absent: measuring --help only\n');

/** CPU time (user + system, ms) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    // After "pid (comm) ", field 3 is index 0: cutime is field 16, cstime field 17 (clock ticks, 100/s on Linux).
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return NaN;
  }
}

const cpu: Record<string, number[]> = {};

function once(name: string, args: string[], status: number, keep: boolean): number {
  const cpuBefore = childrenCpuMs();
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd: stage,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (keep) (cpu[name] ??= []).push(childrenCpuMs() - cpuBefore);
  if (r.status !== status)
    throw new Error(`${args.join(' ')} exited ${String(r.status)}:\n${r.stdout}${r.stderr}`);
  return ms;
}

/**
 * Files (and their KiB) and Node built-ins a command loads: one untimed run with a module-load hook
 * that lists every URL it loads on stderr (the hook runs in the loader thread), and
 * process.moduleLoadList at exit for the built-ins.
 */
function modulesOf(
  args: readonly string[],
  status: number,
): { files: number; kib: number; builtins: number } {
  const hooks = join(stage, 'load-hooks.mjs');
  writeFileSync(
    hooks,
    'export async function load(url, context, next) {\n' +
      "  if (url.startsWith('file:')) process._rawDebug(`ccnodes-bench-load ${url}`);\n" +
      '  return next(url, context);\n}\n',
  );
  const preload = join(stage, 'load-preload.mjs');
  writeFileSync(
    preload,
    "import { register } from 'node:module';\n" +
      `register(${JSON.stringify(pathToFileURL(hooks).href)});\n` +
      "process.on('exit', () => process._rawDebug(`ccnodes-bench-builtins ${process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).length}`));\n",
  );
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, ...args], {
    cwd: stage,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== status)
    throw new Error(`${args.join(' ')} exited ${String(r.status)} under the load hook:\n${r.stderr}`);
  const files = [
    ...new Set(
      r.stderr
        .split('\n')
        .filter((l) => l.startsWith('ccnodes-bench-load '))
        .map((l) => l.slice('ccnodes-bench-load '.length)),
    ),
  ];
  const bytes = files.reduce((sum, u) => sum + statSync(fileURLToPath(u)).size, 0);
  const builtins = Number(/ccnodes-bench-builtins (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { files: files.length, kib: Math.round(bytes / 102.4) / 10, builtins };
}
const modules = Object.fromEntries(
  Object.entries(commands).map(([name, c]) => [name, modulesOf(c.args, c.status)]),
);

const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const [name, c] of Object.entries(commands)) {
    const ms = once(name, c.args, c.status, round >= WARMUP);
    if (round >= WARMUP) times[name]?.push(ms);
  }
}

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN) * 10) / 10;
};
const stats = (xs: readonly number[] | undefined): { median: number; p90: number } => ({
  median: pct(xs ?? [], 0.5),
  p90: pct(xs ?? [], 0.9),
});
const node = stats(times['node']);
const help = stats(times['help']);
const verify = TESTDATA_PRESENT ? stats(times['quoteVerify']) : undefined;
const cpuMedian = (name: string): number => pct(cpu[name] ?? [], 0.5);
const cpuP90 = (name: string): number => pct(cpu[name] ?? [], 0.9);
const line = (label: string, name: string, t: { median: number; p90: number }): string => {
  const m = modules[name];
  const loads =
    m === undefined || name === 'node'
      ? ''
      : `; loads ${m.files} files, ${m.kib} KiB, ${m.builtins} built-ins`;
  return `${label} median ${t.median} ms, p90 ${t.p90} ms (CPU median ${cpuMedian(name)} ms, p90 ${cpuP90(name)} ms${loads})\n`;
};
process.stdout.write(line('node -e 0:           ', 'node', node));
process.stdout.write(line('ccnodes --help:      ', 'help', help));
if (verify) process.stdout.write(line('ccnodes quote verify:', 'quoteVerify', verify));
const load = loadavg().map((x) => Math.round(x * 100) / 100);
process.stdout.write(
  `target ${TARGET_MS} ms (median wall): --help ${help.median <= TARGET_MS ? 'meets' : 'misses'}` +
    `${verify ? `, quote verify ${verify.median <= TARGET_MS ? 'meets' : 'misses'}` : ''}; ` +
    `load average ${load.join(' ')} on ${availableParallelism()} CPUs (wall times are only comparable on a quiet machine)\n`,
);
rmSync(stage, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    bench: 'cli-startup',
    ours: help.median,
    target: TARGET_MS,
    unit: 'ms',
    help,
    ...(verify ? { quoteVerify: verify } : {}),
    node,
    helpOverNode: Math.round((help.median - node.median) * 10) / 10,
    ...(verify ? { quoteVerifyOverNode: Math.round((verify.median - node.median) * 10) / 10 } : {}),
    cpuMedianMs: Object.fromEntries(Object.keys(commands).map((k) => [k, cpuMedian(k)])),
    cpuP90Ms: Object.fromEntries(Object.keys(commands).map((k) => [k, cpuP90(k)])),
    meetsTarget: {
      help: help.median <= TARGET_MS,
      ...(verify ? { quoteVerify: verify.median <= TARGET_MS } : {}),
    },
    modules: Object.fromEntries(Object.entries(modules).filter(([k]) => k !== 'node')),
    rounds: ROUNDS,
    loadavg: load,
  })}\n`,
);
