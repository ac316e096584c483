/**
 * Idle resident memory of the two node daemons (`npm run bench -- daemon-rss`), issue 5's footprint
 * target (< 80 MiB each; DC1s_v2 nodes have 4 GiB).
 *
 * Each daemon is started as its own process exactly as the image runs it (`node dist/ccnodes.js node
 * …`, the precompiled build of scripts/build.ts, made fresh for the run), waits until it logs that it
 * is ready, idles 3 s, and its VmRSS is read from /proc/<pid>/status:
 *   - `node device-plugin --simulate Standard_DC4s_v2` on a fake /dev and /sys tree, registered with a
 *     kubelet peer (this process) and patching its node through a fake API server (this process) —
 *     as deployed, by a short-lived `ccnodes node patch-node` child process;
 *   - `node quote-helper --provider sim` with a data directory, both sockets.
 * The headline is the daemons as the DaemonSets of the default values run them: the image plus the
 * NODE_OPTIONS of `devicePlugin.nodeOptions` / `quoteHelper.nodeOptions` (deploy/values.yaml). The
 * image without NODE_OPTIONS (`imageOnly`) and the sources run through tsx as in development
 * (`fromSource`) are measured too, for comparison. Children are always killed.
 *
 * Last line: {"bench":"daemon-rss","ours":<max MiB>,"bound":80,"unit":"MiB","devicePlugin":N,
 * "quoteHelper":N,"nodeOptions":{…},"imageOnly":{…},"fromSource":{…}}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startFakeApiServer } from '../test/support/fake-apiserver.ts';
import { KubeletPeer } from '../test/support/kubelet-peer.ts';
import { builtCliEntry, envWithNodeOptions } from './support/built-cli.ts';
import { DEFAULT_VALUES } from '../src/kube/index.ts';

const IDLE_MS = 3_000;
const READY_TIMEOUT_MS = 120_000;
const BOUND_MIB = 80;
const NODE_NAME = 'bench-node';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = join(repo, 'bin', 'ccnodes.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-daemon-rss-'));
const children = new Set<ChildProcess>();

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Starts `node <launcher…> <args…>` and resolves once a log line contains `readyText`. */
async function startDaemon(
  launcher: readonly string[],
  args: readonly string[],
  readyText: string,
  nodeOptions: string,
): Promise<ChildProcess> {
  const env = envWithNodeOptions(nodeOptions);
  const child = spawn(process.execPath, [...launcher, ...args], {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let log = '';
  let ready = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (!ready) log += chunk;
    if (log.includes(readyText)) ready = true;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const started = Date.now();
  while (!ready) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`daemon exited before it was ready (${String(child.exitCode)}):\n${log}`);
    }
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`daemon not ready in time:\n${log}`);
    await sleep(25);
  }
  // Stop buffering the log once ready (it would otherwise grow this process, not the daemon).
  child.stdout.resume();
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A fake /dev and /sys: device nodes are symlinks to /dev/null, 112 MiB EPC in sysfs. */
function fakeTree(root: string): { devRoot: string; sysRoot: string } {
  const devRoot = join(root, 'dev');
  const sysRoot = join(root, 'sys');
  mkdirSync(devRoot, { recursive: true });
  symlinkSync('/dev/null', join(devRoot, 'sgx_enclave'));
  symlinkSync('/dev/null', join(devRoot, 'sgx_provision'));
  const x86 = join(sysRoot, 'devices', 'system', 'node', 'node0', 'x86');
  mkdirSync(x86, { recursive: true });
  writeFileSync(join(x86, 'sgx_total_bytes'), `${112 * 1024 * 1024}\n`);
  return { devRoot, sysRoot };
}

async function measureDevicePlugin(
  tag: string,
  launcher: readonly string[],
  nodeOptions: string,
): Promise<number> {
  const root = join(dir, `dp-${tag}`);
  const pluginDir = join(root, 'device-plugins');
  mkdirSync(pluginDir, { recursive: true });
  const { devRoot, sysRoot } = fakeTree(root);
  const api = await startFakeApiServer({
    nodes: { [NODE_NAME]: { metadata: { name: NODE_NAME, resourceVersion: '1' } } },
  });
  const kubeconfig = join(root, 'kubeconfig.json');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'bench' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
      'current-context': 'fake',
    }),
  );
  const kubelet = await KubeletPeer.start(pluginDir);
  let child: ChildProcess | undefined;
  try {
    child = await startDaemon(
      launcher,
      [
        'node',
        'device-plugin',
        '--simulate',
        'Standard_DC4s_v2',
        '--device-plugin-dir',
        pluginDir,
        '--dev-root',
        devRoot,
        '--sys-root',
        sysRoot,
        '--node-name',
        NODE_NAME,
        '--kubeconfig',
        kubeconfig,
      ],
      'device plugin ready',
      nodeOptions,
    );
    await kubelet.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', READY_TIMEOUT_MS);
    await sleep(IDLE_MS);
    return rssMiB(child.pid ?? 0);
  } finally {
    if (child !== undefined) await stop(child);
    await kubelet.stop();
    await api.close();
  }
}

async function measureQuoteHelper(
  tag: string,
  launcher: readonly string[],
  nodeOptions: string,
): Promise<number> {
  const root = join(dir, `qh-${tag}`);
  mkdirSync(root, { recursive: true });
  const child = await startDaemon(
    launcher,
    [
      'node',
      'quote-helper',
      '--provider',
      'sim',
      '--socket',
      join(root, 'aesm.socket'),
      '--json-socket',
      join(root, 'quote-helper.sock'),
      '--data-dir',
      join(root, 'data'),
    ],
    'quote helper ready',
    nodeOptions,
  );
  try {
    await sleep(IDLE_MS);
    return rssMiB(child.pid ?? 0);
  } finally {
    await stop(child);
  }
}

// The images run the precompiled build (deploy/docker/*.Dockerfile: `node dist/ccnodes.js`), built
// fresh for this run. The DaemonSets rendered from the default values add NODE_OPTIONS
// (devicePlugin.nodeOptions, quoteHelper.nodeOptions): that is the headline figure. The image
// without them, and the sources run through tsx, are measured beside it.
const entry = await builtCliEntry();
interface Variant {
  readonly name: string;
  readonly launcher: readonly string[];
  readonly devicePluginOptions: string;
  readonly quoteHelperOptions: string;
}
const DEPLOYED = 'deployed (dist, default values NODE_OPTIONS)';
const IMAGE = 'image (dist, no NODE_OPTIONS)';
const SOURCE = 'source (bin/ccnodes.js via tsx)';
const variants: Variant[] = [
  {
    name: DEPLOYED,
    launcher: [entry],
    devicePluginOptions: DEFAULT_VALUES.devicePlugin.nodeOptions,
    quoteHelperOptions: DEFAULT_VALUES.quoteHelper.nodeOptions,
  },
  { name: IMAGE, launcher: [entry], devicePluginOptions: '', quoteHelperOptions: '' },
  { name: SOURCE, launcher: [bin], devicePluginOptions: '', quoteHelperOptions: '' },
];

const onSignal = (): void => {
  for (const c of children) c.kill('SIGKILL');
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const results: Record<string, { devicePlugin: number; quoteHelper: number }> = {};
try {
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  for (const [i, v] of variants.entries()) {
    const devicePlugin = await measureDevicePlugin(String(i), v.launcher, v.devicePluginOptions);
    const quoteHelper = await measureQuoteHelper(String(i), v.launcher, v.quoteHelperOptions);
    results[v.name] = { devicePlugin, quoteHelper };
    const opts =
      v.devicePluginOptions === v.quoteHelperOptions
        ? v.devicePluginOptions
        : `${v.devicePluginOptions} / ${v.quoteHelperOptions}`;
    process.stdout.write(
      `${v.name}${opts === '' ? '' : ` [NODE_OPTIONS=${opts}]`}: device plugin ${devicePlugin} MiB, ` +
        `quote helper ${quoteHelper} MiB idle RSS (${IDLE_MS / 1000} s after ready)\n`,
    );
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

const main = results[DEPLOYED];
const image = results[IMAGE];
const source = results[SOURCE];
if (main === undefined || image === undefined) throw new Error('no measurement');
const line: Record<string, unknown> = {
  bench: 'daemon-rss',
  ours: Math.max(main.devicePlugin, main.quoteHelper),
  bound: BOUND_MIB,
  unit: 'MiB',
  devicePlugin: main.devicePlugin,
  quoteHelper: main.quoteHelper,
  nodeOptions: {
    devicePlugin: DEFAULT_VALUES.devicePlugin.nodeOptions,
    quoteHelper: DEFAULT_VALUES.quoteHelper.nodeOptions,
  },
  imageOnly: image,
  fromSource: source,
};
process.stdout.write(`${JSON.stringify(line)}\n`);
