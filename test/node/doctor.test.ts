/** The node doctor on fake device/sysfs/procfs trees: a healthy node, each failure, a simulated node. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat as fsStat, unlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Stats } from 'node:fs';
import {
  pccsProbeUrl,
  runNodeDoctor,
  type DoctorOptions,
  type DoctorReport,
} from '../../src/node/device-plugin/index.ts';
import {
  DEFAULT_CPU_FLAGS,
  makeFakeSgxTree,
  type FakeSgxTree,
  type FakeSgxTreeOptions,
} from '../support/fake-sgx-tree.ts';

/** stat() that reports `mode` for paths ending in `suffix` (the fake nodes are /dev/null symlinks, 0666). */
function statWithMode(suffix: string, mode: number): (path: string) => Promise<Stats> {
  return async (path) => {
    const st = await fsStat(path);
    if (!path.endsWith(suffix)) return st;
    return Object.assign(Object.create(Object.getPrototypeOf(st) as object) as Stats, st, {
      mode: (st.mode & ~0o777) | mode,
    });
  };
}

const PROVISION_0660 = statWithMode('sgx_provision', 0o660);

function statusOf(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

describe('node doctor', () => {
  let work: string;
  let aesmd: NetServer;
  let aesmdPath: string;
  let pccs: HttpServer;
  let pccsUrl: string;
  const trees: FakeSgxTree[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'ccnodes-doctor-'));
    aesmdPath = join(work, 'aesm.socket');
    aesmd = createNetServer((s) => s.end());
    await new Promise<void>((resolve) => aesmd.listen(aesmdPath, resolve));
    pccs = createHttpServer((req, res) => {
      res.writeHead(req.url === '/sgx/certification/v4/rootcacrl' ? 200 : 404);
      res.end('crl');
    });
    await new Promise<void>((resolve) => pccs.listen(0, '127.0.0.1', resolve));
    pccsUrl = `http://127.0.0.1:${(pccs.address() as AddressInfo).port}/sgx/certification/v4/`;
  });
  after(async () => {
    await new Promise((resolve) => aesmd.close(resolve));
    await new Promise((resolve) => pccs.close(resolve));
    for (const tree of trees) tree.remove();
    rmSync(work, { recursive: true, force: true });
  });

  function tree(options: FakeSgxTreeOptions = {}): FakeSgxTree {
    const t = makeFakeSgxTree(options);
    trees.push(t);
    return t;
  }

  function doctor(t: FakeSgxTree, extra: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
    return runNodeDoctor({
      devRoot: t.devRoot,
      sysRoot: t.sysRoot,
      procRoot: t.procRoot,
      aesmdSocket: aesmdPath,
      pccsUrl,
      stat: PROVISION_0660,
      timeoutMs: 2000,
      ...extra,
    });
  }

  test('the PCCS check reads the status only: an endless body is not read (bytes bounded, not only time)', async () => {
    let pulled = 0;
    const endless: typeof fetch = () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++;
              controller.enqueue(new Uint8Array(64 * 1024));
            },
          }),
          { status: 200 },
        ),
      );
    const started = performance.now();
    const report = await doctor(tree(), { fetch: endless, timeoutMs: 2000 });
    assert.equal(report.checks.find((c) => c.id === 'pccs')?.status, 'pass');
    assert.ok(performance.now() - started < 1500, 'the body was read until the timeout');
    assert.ok(pulled <= 2, `${pulled} pieces of the body were pulled`);
  });

  test('a healthy SGX node passes every check and gets its labels', async () => {
    const report = await doctor(tree({ epcBytesPerNode: [64 * 1024 * 1024, 48 * 1024 * 1024] }));
    assert.deepEqual(statusOf(report), {
      kernel: 'pass',
      'cpu-sgx': 'pass',
      'cpu-flc': 'pass',
      'cpu-fsgsbase': 'pass',
      driver: 'pass',
      'enclave-device': 'pass',
      'provision-device': 'pass',
      epc: 'pass',
      aesmd: 'pass',
      pccs: 'pass',
    });
    assert.equal(report.ok, true);
    assert.deepEqual(report.labels, {
      'ccnodes.io/sgx': 'true',
      'ccnodes.io/epc-mib': '112',
      'ccnodes.io/flc': 'true',
      'ccnodes.io/fsgsbase': 'true',
      'ccnodes.io/simulated': 'false',
    });
  });

  const without = (flag: string): string[] => DEFAULT_CPU_FLAGS.filter((f) => f !== flag);
  const failures: {
    name: string;
    check: string;
    tree?: FakeSgxTreeOptions;
    prepare?: (t: FakeSgxTree) => Promise<void>;
    options?: Partial<DoctorOptions>;
  }[] = [
    { name: 'no sgx flag', check: 'cpu-sgx', tree: { cpuFlags: without('sgx') } },
    { name: 'no flexible launch control', check: 'cpu-flc', tree: { cpuFlags: without('sgx_lc') } },
    { name: 'no FSGSBASE', check: 'cpu-fsgsbase', tree: { cpuFlags: without('fsgsbase') } },
    { name: 'no driver in sysfs', check: 'driver', tree: { miscSgx: false } },
    { name: 'no enclave device node', check: 'enclave-device', tree: { enclave: false, miscSgx: true } },
    {
      name: 'enclave node is a regular file',
      check: 'enclave-device',
      prepare: async (t) => {
        await unlink(t.dev('/dev/sgx_enclave'));
        await writeFile(t.dev('/dev/sgx_enclave'), '');
      },
    },
    { name: 'zero EPC', check: 'epc', tree: { epcBytesPerNode: [0] } },
    {
      name: 'malformed EPC in sysfs',
      check: 'epc',
      prepare: (t) => writeFile(join(t.sysRoot, 'devices/system/node/node0/x86/sgx_total_bytes'), 'lots'),
    },
    { name: 'PCCS answers 404', check: 'pccs', options: { pccsUrl: 'PLACEHOLDER_404' } },
    {
      name: 'PCCS unreachable',
      check: 'pccs',
      options: { pccsUrl: 'http://127.0.0.1:1/sgx/certification/v4/' },
    },
    { name: 'cpuinfo unreadable', check: 'cpu-sgx', prepare: (t) => unlink(join(t.procRoot, 'cpuinfo')) },
  ];
  for (const c of failures) {
    test(`fails: ${c.name}`, async () => {
      const t = tree(c.tree);
      await c.prepare?.(t);
      const options = { ...c.options };
      if (options.pccsUrl === 'PLACEHOLDER_404') options.pccsUrl = pccsUrl.replace('/v4/', '/v3/');
      const report = await doctor(t, options);
      const check = report.checks.find((x) => x.id === c.check);
      assert.equal(check?.status, 'fail', JSON.stringify(report.checks, null, 1));
      assert.equal(report.ok, false);
    });
  }

  const warnings: {
    name: string;
    check: string;
    tree?: FakeSgxTreeOptions;
    options?: Partial<DoctorOptions>;
  }[] = [
    { name: 'old kernel', check: 'kernel', tree: { osrelease: '5.4.0-1089-azure' } },
    { name: 'no provisioning node', check: 'provision-device', tree: { provision: false } },
    { name: 'world-accessible provisioning node', check: 'provision-device', options: { stat: fsStat } },
    {
      name: 'enclave node not world rw',
      check: 'enclave-device',
      options: { stat: statWithMode('sgx_enclave', 0o600) },
    },
    { name: 'no aesmd socket', check: 'aesmd', options: { aesmdSocket: '/nonexistent/aesm.socket' } },
    { name: 'EPC not in sysfs', check: 'epc', tree: { epcBytesPerNode: [] } },
    { name: 'legacy DCAP driver', check: 'driver', tree: { enclave: 'dcap-legacy' } },
  ];
  for (const c of warnings) {
    test(`warns: ${c.name}`, async () => {
      const report = await doctor(tree(c.tree), c.options);
      assert.equal(report.checks.find((x) => x.id === c.check)?.status, 'warn');
      assert.equal(report.ok, true, JSON.stringify(report.checks, null, 1));
    });
  }

  test('a simulated node without any SGX passes with warnings and simulated labels', async () => {
    const t = tree({ enclave: false, provision: false, epcBytesPerNode: [], cpuFlags: ['fpu', 'sse2'] });
    const real = await doctor(t, { pccsUrl: undefined as unknown as string });
    assert.equal(real.ok, false);
    assert.equal(real.labels['ccnodes.io/sgx'], 'false');
    const report = await runNodeDoctor({
      devRoot: t.devRoot,
      sysRoot: t.sysRoot,
      procRoot: t.procRoot,
      aesmdSocket: aesmdPath,
      simulate: 'Standard_DC2s_v2',
    });
    assert.equal(report.ok, true);
    assert.equal(report.simulatedSku, 'Standard_DC2s_v2');
    for (const id of ['cpu-sgx', 'cpu-flc', 'cpu-fsgsbase', 'driver', 'enclave-device']) {
      const check = report.checks.find((x) => x.id === id);
      assert.equal(check?.status, 'warn', id);
      assert.match(check.detail, /^simulated node \(Standard_DC2s_v2\)/);
    }
    assert.deepEqual(report.labels, {
      'ccnodes.io/sgx': 'false',
      'ccnodes.io/epc-mib': '56',
      'ccnodes.io/flc': 'false',
      'ccnodes.io/fsgsbase': 'false',
      'ccnodes.io/simulated': 'true',
    });
    await assert.rejects(runNodeDoctor({ devRoot: t.devRoot, simulate: 'Standard_X' }), {
      code: 'ERR_DEVICE_PLUGIN_UNKNOWN_SKU',
    });
  });

  test('PCCS probe URL from a base URL or a full certification URL', () => {
    assert.equal(pccsProbeUrl('https://pccs:8081'), 'https://pccs:8081/sgx/certification/v4/rootcacrl');
    assert.equal(
      pccsProbeUrl('https://pccs:8081/sgx/certification/v4'),
      'https://pccs:8081/sgx/certification/v4/rootcacrl',
    );
    assert.equal(
      pccsProbeUrl('https://h/p/sgx/certification/v3/'),
      'https://h/p/sgx/certification/v3/rootcacrl',
    );
  });
});
