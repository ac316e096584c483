/**
 * `npm run bench -- container`: what the confidential-container launcher costs.
 *
 * An app with 50 MiB of trusted files (10 files of 5 MiB) whose program is `sh prog.sh` (it checks
 * that its secret arrived and exits). Against the demo's services (simulated PCS, attestation
 * service, quote helper on its AESM socket), run in a process of their own as on a cluster
 * (bench/support/container-stack.ts), in interleaved rounds:
 *
 * - plain: `sh prog.sh` spawned and awaited (the same program without the launcher);
 * - dist: `node <dist>/ccnodes.cjs container run app.yaml --sig app.sig --sim-seed … --aesm-socket …
 *   --quiet` spawned and awaited, where <dist> is the precompiled CLI (`npm run build`, what `npm pack`
 *   ships and the images run) built afresh by this bench into .tmp/, its V8 code cache written by
 *   `container warm-cache` as the images write theirs, and run once before timing: Node start-up and the CLI,
 *   rehash of the 50 MiB, EINIT, quote through the AESM socket, attest, release, program. Overhead =
 *   dist − plain of the same round: the headline;
 * - cli: the same through the checkout's bin/ccnodes.js, which runs the TypeScript sources through
 *   the tsx loader (development only; a few hundred ms of transpiling start-up);
 * - node: `node -e 0`, the machine's own Node start-up, as a reference in the same rounds;
 * - helper off: dist again with CCNODES_HASH_HELPER=off (every file hashed on the launcher's thread
 *   instead of by the openssl child, src/hash-helper), `node -e 0` between the two and their order
 *   alternating from round to round (its overhead is taken against the same round's plain spawn);
 * - lib: `runContainer` in this process (the same steps without Node start-up); its progress lines are
 *   timestamped, which gives the attest + release time (from the quote to the released secrets).
 *
 * Hashing: `hashTrustedFiles` (in process) and `startTrustedFileHashes` with the helper (the
 * launcher's way when openssl is installed, the child's start included) over the 50 MiB (files in
 * the page cache), against two bounds measured
 * on the same machine: `openssl speed -evp sha256` (1 MiB blocks, 1 s; OpenSSL divides by its CPU
 * user time), parsed from its output when openssl is installed, and Node's SHA-256 of one in-memory
 * 50 MiB buffer (wall clock). Ours is given by wall clock and per CPU-second (user + system of this
 * process, the thread pool's reads included), with its ratio to each bound: on a busy machine the
 * wall-clock figures drop and the CPU figures do not. The last line is the JSON summary.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultHashHelper,
  encodeAppSig,
  expandTrustedFiles,
  HASH_HELPER_ENV,
  hashTrustedFiles,
  loadManifest,
  prepareApp,
  releasePolicyFor,
  runContainer,
  startTrustedFileHashes,
} from '../src/container/index.ts';
import { generateEnclaveSigningKey } from '../src/sim/index.ts';
import { buildCli, STANDALONE_MODULES } from '../scripts/build.ts';
import { putStackSecret } from '../src/cli/stack-secret.ts';
import { loadRecorder } from './support/load.ts';

const load = loadRecorder();
const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const FILES = 10;
const FILE_MIB = 5;
const ROUNDS = Number(process.env['CCNODES_BENCH_ROUNDS'] ?? 20);
const HASH_ROUNDS = 5;
/** Pause before each round's timed pair (see the loop). */
const SETTLE_MS = 200;
const SECRET = 'bench-secret-value';

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** What bench/support/container-stack.ts prints once its services listen. */
interface Stack {
  readonly attestationUrl: string;
  readonly issuer: string;
  readonly adminToken: string;
  readonly seed: string;
  readonly aesmSocket: string;
}

/** Starts the services in their own process (bench/support/container-stack.ts) and waits for them. */
function startStack(): Promise<{ child: ChildProcess; stack: Stack }> {
  const script = fileURLToPath(new URL('./support/container-stack.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the services did not start in 60 s'));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the services' process exited early (code ${String(code)})`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolvePromise({ child, stack: JSON.parse(buf.slice(0, nl)) as Stack });
    });
  });
}

/** Ends the services' process (closing its stdin) and waits for it, killing it after 10 s. */
async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      r();
    }),
  );
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${String(code)}: ${err}`));
      else resolvePromise(performance.now() - t);
    });
  });
}

const dir = await mkdtemp(join(tmpdir(), 'ccnodes-bench-container-'));
// A fresh build of the precompiled CLI, inside the checkout (its paths to proto/… are relative).
await mkdir(join(root, '.tmp'), { recursive: true });
const distDir = await mkdtemp(join(root, '.tmp', 'bench-container-dist-'));
const built = await buildCli({ outdir: distDir, sourcemap: false });
const { child: stackProcess, stack } = await startStack();
try {
  const app = join(dir, 'app');
  await mkdir(join(app, 'data'), { recursive: true });
  // Incompressible, reproducible content: SHA-256 counter stream.
  for (let i = 0; i < FILES; i++) {
    const buf = Buffer.alloc(FILE_MIB * 1024 * 1024);
    for (let off = 0, n = 0; off < buf.length; off += 32, n++)
      createHash('sha256').update(`bench-${i}-${n}`).digest().copy(buf, off);
    await writeFile(join(app, 'data', `blob-${i}.bin`), buf);
  }
  await writeFile(join(app, 'prog.sh'), `[ "$BENCH_SECRET" = "${SECRET}" ] || exit 3\nexit 0\n`);
  await writeFile(
    join(app, 'app.yaml'),
    [
      'name: bench',
      'entrypoint: [sh, prog.sh]',
      'env:',
      '  passThrough: [PATH]',
      "trustedFiles: [prog.sh, 'data/*.bin']",
      'secrets:',
      '  - name: bench-secret',
      '    env: BENCH_SECRET',
      'attestation:',
      `  url: ${stack.attestationUrl}`,
      '',
    ].join('\n'),
  );
  const manifestPath = join(app, 'app.yaml');
  const loaded = await loadManifest(manifestPath);
  const { sig } = await prepareApp(loaded, generateEnclaveSigningKey().privateKeyPem);
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  const put = await putStackSecret(
    stack,
    'bench-secret',
    SECRET,
    'text/plain',
    releasePolicyFor(sig, stack.issuer),
  );
  if (put !== 201) throw new Error(`store secret: HTTP ${put}`);

  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BENCH_SECRET: SECRET };
  const cliArgs = [
    join(root, 'bin', 'ccnodes.js'),
    'container',
    'run',
    manifestPath,
    '--sig',
    sigPath,
    '--sim-seed',
    stack.seed,
    '--aesm-socket',
    stack.aesmSocket,
    '--quiet',
  ];
  const plain: number[] = [];
  const cli: number[] = [];
  const lib: number[] = [];
  const attestRelease: number[] = [];
  const phases = new Map<string, number[]>();
  const distCli: number[] = [];
  const nodeStart: number[] = [];
  const distHelperOff: number[] = [];
  // The CommonJS start of the built CLI (dist/ccnodes.cjs): what the images and the webhook's
  // launcher run for `container run` (dist/ccnodes.js, the ES module main, answers the rest).
  const distArgs = [built.fastEntry, ...cliArgs.slice(1)];
  const runLib = async (): Promise<void> => {
    const marks: { line: string; t: number }[] = [];
    const t = performance.now();
    const r = await runContainer({
      manifestPath,
      sigPath,
      platform: { simSeed: stack.seed, aesmSocket: stack.aesmSocket },
      env: { PATH: env.PATH },
      stdio: 'pipe',
      log: (line) => marks.push({ line, t: performance.now() }),
    });
    if (r.exitCode !== 0) throw new Error(`program exited ${r.exitCode} under the launcher`);
    lib.push(performance.now() - t);
    const from = marks.find((m) => m.line.startsWith('quote:'))?.t;
    const to = marks.find((m) => m.line.startsWith('released:'))?.t;
    if (from !== undefined && to !== undefined) attestRelease.push(to - from);
    // Time from the previous progress line (or the start) to each line, by the line's first word.
    let prev = t;
    for (const m of marks) {
      const key = m.line.split(/[ :]/)[0] ?? '?';
      phases.set(key, [...(phases.get(key) ?? []), m.t - prev]);
      prev = m.t;
    }
  };
  // Warm-up (page cache, JIT, service caches), not counted.
  await run('sh', [join(app, 'prog.sh')], env);
  await run(process.execPath, cliArgs, { PATH: env.PATH });
  await runLib();
  lib.length = 0;
  attestRelease.length = 0;
  phases.clear();
  // The built CLI's code cache (src/cli/code-cache.ts), written as the images write theirs:
  // `container warm-cache` (one simulated launch of its own); not timed. Then one untimed run.
  await run(process.execPath, [built.entry, 'container', 'warm-cache'], { PATH: env.PATH });
  const cached = STANDALONE_MODULES.filter((n) => existsSync(join(distDir, `${n}.cjs.v8cache`)));
  if (!cached.includes('container-run-fast'))
    throw new Error('container warm-cache wrote no code cache for container-run-fast');
  await run(process.execPath, distArgs, { PATH: env.PATH });
  const overhead: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // The timed pair first, after a pause in which the previous round's work in this process (the
    // in-process run's worker teardown, garbage collection) ends: the plain spawn, then the run it
    // is subtracted from.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const p = await run('sh', [join(app, 'prog.sh')], { ...env, PWD: app });
    plain.push(p);
    // The launch, and the same launch with the hash helper off (every file hashed on the launcher's
    // thread), with the machine's own Node start-up between them (a reference: on a shared machine
    // all move); which of the two goes first alternates from round to round, since on this machine
    // the second of two launches close together is slower.
    const dist = (): Promise<number> => run(process.execPath, distArgs, { PATH: env.PATH });
    const off = (): Promise<number> =>
      run(process.execPath, distArgs, { PATH: env.PATH, [HASH_HELPER_ENV]: 'off' });
    const node = (): Promise<number> => run(process.execPath, ['-e', '0'], { PATH: env.PATH });
    let d: number;
    if (i % 2 === 0) {
      d = await dist();
      nodeStart.push(await node());
      distHelperOff.push(await off());
    } else {
      distHelperOff.push(await off());
      nodeStart.push(await node());
      d = await dist();
    }
    distCli.push(d);
    const c = await run(process.execPath, cliArgs, { PATH: env.PATH });
    cli.push(c);
    await runLib();
    overhead.push(c - p);
    process.stderr.write(
      `round ${i + 1}/${ROUNDS}: plain ${p.toFixed(1)} ms, dist ${d.toFixed(0)} ms, checkout cli ${c.toFixed(0)} ms\n`,
    );
  }
  const libOverhead = lib.map((l, i) => l - (plain[i] ?? 0));
  const distOverhead = distCli.map((d, i) => d - (plain[i] ?? 0));
  const helperOffOverhead = distHelperOff.map((d, i) => d - (plain[i] ?? 0));
  // The dist CLI's CPU time (user + system, its own threads included) and what it loads, from
  // separate runs (not the timed ones): an `--import` hook writes process.cpuUsage() at exit, and a
  // module loader hook (off-thread, so only in its own run) lists every module with its size.
  // CPU time is what a busy machine inflates least; the files and bytes do not depend on it at all.
  const distCpuMs: number[] = [];
  let distModules = { files: 0, bytes: 0 };
  {
    const cpuHook = join(dir, 'cpu-hook.mjs');
    const cpuOut = join(dir, 'cpu.jsonl');
    await writeFile(
      cpuHook,
      "import { appendFileSync } from 'node:fs';\n" +
        "process.on('exit', () => { const u = process.cpuUsage(); appendFileSync(process.env.BENCH_CPU_OUT, `${(u.user + u.system) / 1000}\\n`); });\n",
    );
    for (let i = 0; i < Math.max(5, ROUNDS); i++)
      await run(process.execPath, ['--import', cpuHook, ...distArgs], {
        PATH: env.PATH,
        BENCH_CPU_OUT: cpuOut,
      });
    distCpuMs.push(...(await readFile(cpuOut, 'utf8')).trim().split('\n').map(Number));
    const modHooks = join(dir, 'module-hooks.mjs');
    const modRegister = join(dir, 'module-register.mjs');
    const modOut = join(dir, 'modules.tsv');
    await writeFile(
      modHooks,
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) {\n' +
        '  const r = await next(url, context);\n' +
        "  const n = r.source == null ? 0 : typeof r.source === 'string' ? Buffer.byteLength(r.source) : r.source.byteLength;\n" +
        '  appendFileSync(process.env.BENCH_MODULES_OUT, `${n}\\t${url}\\n`);\n' +
        '  return r;\n}\n',
    );
    await writeFile(
      modRegister,
      `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${modHooks}`).href)});\n`,
    );
    await run(process.execPath, ['--import', modRegister, ...distArgs], {
      PATH: env.PATH,
      BENCH_MODULES_OUT: modOut,
    });
    const rows = [...new Set((await readFile(modOut, 'utf8')).trim().split('\n'))].map((l) => l.split('\t'));
    const files = rows.filter(([, u]) => u?.startsWith('file:') === true);
    // The hook sees ES modules only (started from dist/ccnodes.cjs, `container run` loads none):
    // the CommonJS start, the standalone file and its code cache are read as files, counted here.
    const viaCache = ['ccnodes.cjs', 'container-run-fast.cjs', 'container-run-fast.cjs.v8cache']
      .map((f) => join(distDir, f))
      .filter((f) => existsSync(f))
      .map((f) => statSync(f).size);
    distModules = {
      files: files.length + viaCache.length,
      bytes: files.reduce((n, [b]) => n + Number(b), 0) + viaCache.reduce((n, b) => n + b, 0),
    };
  }
  const phaseP50 = Object.fromEntries(
    [...phases].map(([k, v]) => [k, Math.round(percentile(v, 50))] as const),
  );

  // Hashing: the launcher's hash of the trusted files against the SHA-256 bounds of this machine.
  const paths = await expandTrustedFiles(app, loaded.manifest.trustedFiles, true);
  const totalBytes = (await hashTrustedFiles(app, paths)).reduce((n, f) => n + f.size, 0);
  const mib = totalBytes / 2 ** 20;
  const big = Buffer.alloc(totalBytes, 0x5a);
  const ours: number[] = [];
  const oursCpu: number[] = [];
  // The launcher's way when openssl is there: the helper child over the large files (wall clock,
  // its start included), as startTrustedFileHashes runs it.
  const viaHelper: number[] = [];
  const helperPath = defaultHashHelper({});
  const bound: number[] = [];
  for (let i = 0; i < HASH_ROUNDS; i++) {
    let t = performance.now();
    const c = process.cpuUsage();
    await hashTrustedFiles(app, paths);
    ours.push(mib / ((performance.now() - t) / 1000));
    const used = process.cpuUsage(c);
    oursCpu.push(mib / ((used.user + used.system) / 1e6));
    if (helperPath !== false) {
      t = performance.now();
      const started = startTrustedFileHashes(app, paths, undefined, { helper: helperPath });
      await Promise.all(started.values());
      viaHelper.push(mib / ((performance.now() - t) / 1000));
    }
    t = performance.now();
    createHash('sha256').update(big).digest();
    bound.push(mib / ((performance.now() - t) / 1000));
  }
  // `openssl speed` prints "sha256  <n>k" (thousands of bytes per second) for the block size asked.
  let openssl: number | undefined;
  const speed = spawnSync(
    'openssl',
    ['speed', '-seconds', '1', '-bytes', String(2 ** 20), '-evp', 'sha256'],
    {
      encoding: 'utf8',
    },
  );
  const m = /^sha256\s+([\d.]+)k\s*$/im.exec(speed.stdout);
  if (speed.status === 0 && m !== null) openssl = (Number(m[1]) * 1000) / 2 ** 20;
  else process.stderr.write('openssl speed unavailable: only the in-memory Node bound is shown\n');
  const med = (xs: number[]): number => percentile(xs, 50);
  const hashOurs = med(ours);
  const hashOursCpu = med(oursCpu);
  const hashBound = med(bound);
  const hashHelper = viaHelper.length === 0 ? undefined : med(viaHelper);
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(0)}%`;
  const loadavg = load.summary();
  process.stdout.write(
    `container run, 50 MiB of trusted files, ${ROUNDS} rounds (load ${loadavg.start ?? '?'}→${loadavg.end ?? '?'} on ${loadavg.cpus} CPUs):\n` +
      `  plain spawn of sh prog.sh: p50 ${r1(percentile(plain, 50))} ms\n` +
      `  ccnodes container run, precompiled CLI (npm run build; what is installed and in the images): overhead p50 ${r1(percentile(distOverhead, 50))} ms, p99 ${r1(percentile(distOverhead, 99))} ms (target p50 < 250 ms); CPU (user + system) p50 ${r1(percentile(distCpuMs, 50))} ms` +
      `; loads ${distModules.files} files (${(distModules.bytes / 1024).toFixed(0)} KiB, code cache included)\n` +
      `  the same with ${HASH_HELPER_ENV}=off (all hashing on the launcher's thread): overhead p50 ${r1(percentile(helperOffOverhead, 50))} ms, p99 ${r1(percentile(helperOffOverhead, 99))} ms\n` +
      `  reference: node -e 0 (Node's own start-up and exit) p50 ${r1(percentile(nodeStart, 50))} ms; the overhead is ${(percentile(distOverhead, 50) / percentile(nodeStart, 50)).toFixed(2)}× that\n` +
      `  the checkout's bin/ccnodes.js (TypeScript sources through tsx, development only): overhead p50 ${r1(percentile(overhead, 50))} ms, p99 ${r1(percentile(overhead, 99))} ms\n` +
      `  runContainer in process (no Node start-up): overhead p50 ${r1(percentile(libOverhead, 50))} ms, p99 ${r1(percentile(libOverhead, 99))} ms\n` +
      `  in-process time to each progress line, p50 ms: ${JSON.stringify(phaseP50)}\n` +
      `  attest + release (quote received → secrets released): p50 ${r1(percentile(attestRelease, 50))} ms, p99 ${r1(percentile(attestRelease, 99))} ms\n` +
      `  hashing: ours ${r1(hashOurs)} MiB/s (${r1(hashOursCpu)} MiB per CPU-second)` +
      (openssl === undefined
        ? ''
        : `; openssl speed -evp sha256 (1 MiB blocks) ${r1(openssl)} MiB/s: ours ${pct(hashOurs, openssl)} of it (per CPU-second ${pct(hashOursCpu, openssl)}; target ≥ 70%)`) +
      `; node sha256 of one ${r1(mib)} MiB buffer ${r1(hashBound)} MiB/s: ours ${pct(hashOurs, hashBound)} of it\n` +
      (hashHelper === undefined
        ? '  hash helper: no openssl in /usr/bin or /bin\n'
        : `  hash helper (the launcher's way: an openssl child over the large files, its start included): ${r1(hashHelper)} MiB/s` +
          (openssl === undefined ? '\n' : `, ${pct(hashHelper, openssl)} of openssl speed\n`)),
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'container',
      headline: 'precompiled cli overhead p50',
      ours: r1(percentile(distOverhead, 50)),
      unit: 'ms',
      target: { overheadP50Ms: 250, hashVsBound: 0.7 },
      distOverhead: { p50: r1(percentile(distOverhead, 50)), p99: r1(percentile(distOverhead, 99)) },
      distHelperOffOverhead: {
        p50: r1(percentile(helperOffOverhead, 50)),
        p99: r1(percentile(helperOffOverhead, 99)),
      },
      distCpuMs: {
        p50: r1(percentile(distCpuMs, 50)),
        min: r1(Math.min(...distCpuMs)),
        runs: distCpuMs.length,
      },
      distModulesLoaded: distModules,
      plain: { p50: r1(percentile(plain, 50)), p99: r1(percentile(plain, 99)) },
      nodeStart: { p50: r1(percentile(nodeStart, 50)), p99: r1(percentile(nodeStart, 99)) },
      overheadVsNodeStart: Number((percentile(distOverhead, 50) / percentile(nodeStart, 50)).toFixed(2)),
      checkoutCliOverhead: { p50: r1(percentile(overhead, 50)), p99: r1(percentile(overhead, 99)) },
      libPhasesP50Ms: phaseP50,
      libOverhead: { p50: r1(percentile(libOverhead, 50)), p99: r1(percentile(libOverhead, 99)) },
      attestRelease: { p50: r1(percentile(attestRelease, 50)), p99: r1(percentile(attestRelease, 99)) },
      hashing: {
        ours: r1(hashOurs),
        oursPerCpuSecond: r1(hashOursCpu),
        ...(openssl === undefined
          ? {}
          : {
              opensslSpeed: r1(openssl),
              oursVsOpenssl: Number((hashOurs / openssl).toFixed(3)),
              oursCpuVsOpenssl: Number((hashOursCpu / openssl).toFixed(3)),
            }),
        ...(hashHelper === undefined
          ? {}
          : {
              helper: r1(hashHelper),
              ...(openssl === undefined
                ? {}
                : { helperVsOpenssl: Number((hashHelper / openssl).toFixed(3)) }),
            }),
        nodeInMemory: r1(hashBound),
        oursVsNodeInMemory: Number((hashOurs / hashBound).toFixed(3)),
        bounds: `openssl speed -seconds 1 -bytes 1048576 -evp sha256 (CPU user time); node crypto SHA-256 of one in-memory ${r1(mib)} MiB buffer (wall clock)`,
        unit: 'MiB/s',
      },
      trustedBytes: totalBytes,
      rounds: ROUNDS,
      loadavg,
    })}\n`,
  );
} finally {
  await stopStack(stackProcess);
  await rm(dir, { recursive: true, force: true });
  await rm(distDir, { recursive: true, force: true });
}
