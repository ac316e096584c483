/**
 * Doctor results on the Nodes page, end to end through the real sources: the device plugin runs the
 * node doctor on its view of the host and exports the checks as `ccnodes_device_plugin_doctor_check`
 * on its Prometheus endpoint; the dashboard scrapes that endpoint and shows the verdict per node.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../../src/cli/index.ts';
import {
  agentHealth,
  createDashboard,
  doctorResults,
  parseMetricsText,
  type KubeSource,
} from '../../src/dashboard/index.ts';
import {
  DevicePluginMetrics,
  exportNodeDoctor,
  serveMetrics,
  type MetricsEndpoint,
} from '../../src/node/device-plugin/index.ts';
import { makeFakeSgxTree, type FakeSgxTree } from '../support/fake-sgx-tree.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { dataValues } from './page-values.ts';
import { captureContext as context } from '../support/cli.ts';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tree(options: Parameters<typeof makeFakeSgxTree>[0]): FakeSgxTree {
  const t = makeFakeSgxTree(options);
  cleanups.push(() => {
    t.remove();
  });
  return t;
}

const NODE = 'aks-confpool-00000-vmss';

/** One SGX node, as the API server lists it. */
const kube: KubeSource = {
  snapshot: () =>
    Promise.resolve({
      nodes: [
        {
          metadata: { name: NODE, labels: { 'ccnodes.io/sgx': 'true' } },
          status: {
            capacity: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '112' },
            allocatable: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '112' },
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      ],
      pods: [],
    }),
};

test('the device plugin exports the doctor checks it ran; the Nodes page shows them for that node', async () => {
  // A host without flexible launch control (a failure), no aesmd (a warning), the rest in order.
  const host = tree({ cpuFlags: ['fpu', 'sgx', 'fsgsbase'] });
  const metrics = new DevicePluginMetrics();
  const ranAt = new Date('2026-12-06T12:00:00Z');
  const doctor = exportNodeDoctor(metrics, {
    devRoot: host.devRoot,
    sysRoot: host.sysRoot,
    procRoot: host.procRoot,
    aesmdSocket: join(host.root, 'no-aesmd.socket'),
    intervalMs: 0,
    now: () => ranAt,
  });
  const report = await doctor.first;
  doctor.stop();
  assert.ok(report);
  const want = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
  assert.equal(want['cpu-flc'], 'fail');
  assert.equal(want['aesmd'], 'warn');
  assert.equal(want['cpu-sgx'], 'pass');

  const endpoint: MetricsEndpoint = await serveMetrics('127.0.0.1:0', metrics.registry);
  cleanups.push(() => endpoint.close());
  const text = await (await fetch(`${endpoint.url}/metrics`)).text();
  assert.match(text, /ccnodes_device_plugin_doctor_check\{check="cpu-flc",status="fail"\} 1/);
  assert.match(text, /ccnodes_device_plugin_doctor_check\{check="cpu-flc",status="pass"\} 0/);

  const dashboard = createDashboard({
    kube,
    metrics: [{ node: NODE, target: `${endpoint.url}/metrics` }],
    sampleIntervalMs: 0,
    cacheMs: 0,
  });
  cleanups.push(() => dashboard.close());
  const url = await dashboard.listen('127.0.0.1', 0);
  const api = (await (await fetch(`${url}/api/nodes`)).json()) as {
    sgxNodes: {
      name: string;
      agents: { kind: string; doctor?: { check: string; status: string }[]; doctorAt?: string }[];
    }[];
  };
  const agent = api.sgxNodes.find((n) => n.name === NODE)?.agents.find((a) => a.kind === 'device-plugin');
  assert.ok(agent?.doctor, JSON.stringify(api));
  assert.deepEqual(Object.fromEntries(agent.doctor.map((c) => [c.check, c.status])), want);
  assert.deepEqual(
    agent.doctor.map((c) => c.check),
    report.checks.map((c) => c.id),
  );
  assert.equal(agent.doctorAt, ranAt.toISOString());

  const page = await (await fetch(`${url}/nodes`)).text();
  const v = dataValues(page);
  const count = (st: string): string => String(report.checks.filter((c) => c.status === st).length);
  assert.equal(v.get(`node.${NODE}.doctor.fail`), count('fail'));
  assert.equal(v.get(`node.${NODE}.doctor.warn`), count('warn'));
  assert.equal(v.get(`node.${NODE}.doctor.pass`), count('pass'));
  assert.ok(page.includes('<li class="bad">fail <code>cpu-flc</code></li>'), 'the failed check is named');
});

test('a later doctor run replaces the exported checks (a fixed host stops showing the failure)', async () => {
  const metrics = new DevicePluginMetrics();
  metrics.recordDoctor([{ id: 'cpu-flc', status: 'fail' }], new Date(1000));
  metrics.recordDoctor(
    [
      { id: 'cpu-flc', status: 'pass' },
      { id: 'aesmd', status: 'warn' },
    ],
    new Date(2000),
  );
  const m = parseMetricsText(await metrics.registry.metrics());
  assert.deepEqual(doctorResults(m), [
    { check: 'cpu-flc', status: 'pass' },
    { check: 'aesmd', status: 'warn' },
  ]);
  assert.equal(agentHealth('t', NODE, m).doctorAt, new Date(2000).toISOString());
});

test('the dashboard reads only a current state of 1, and shows the worse of two (a broken exporter)', () => {
  const m = parseMetricsText(
    [
      'ccnodes_device_plugin_healthy{resource="sgx.intel.com/enclave"} 1',
      'ccnodes_device_plugin_doctor_check{check="driver",status="pass"} 1',
      'ccnodes_device_plugin_doctor_check{check="driver",status="fail"} 1',
      'ccnodes_device_plugin_doctor_check{check="epc",status="pass"} 0',
      'ccnodes_device_plugin_doctor_check{check="epc",status="warn"} 1',
      'ccnodes_device_plugin_doctor_check{check="kernel",status="bogus"} 1',
      'ccnodes_device_plugin_doctor_check{status="pass"} 1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(doctorResults(m), [
    { check: 'driver', status: 'fail' },
    { check: 'epc', status: 'warn' },
  ]);
  // An endpoint without doctor metrics has no doctor field (the page shows a dash, not "0 fail").
  const plain = parseMetricsText('ccnodes_device_plugin_healthy{resource="sgx.intel.com/enclave"} 1\n');
  assert.equal(agentHealth('t', NODE, plain).doctor, undefined);
});

test('ccnodes node device-plugin --metrics-listen exports the doctor of its simulated node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dash-doctor-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const host = tree({ enclave: false, epcBytesPerNode: [] });
  const peer = await KubeletPeer.start(dir);
  cleanups.push(() => peer.stop());
  // What deploy render points the doctor at: the host's AESM socket (the quote helper's) and the
  // collateral service; both answer here, so both checks pass.
  mkdirSync(join(dir, 'aesmd'));
  const aesmd = createNetServer((c) => c.end());
  await new Promise<void>((r) => aesmd.listen(join(dir, 'aesmd', 'aesm.socket'), r));
  const pccs = createHttpServer((req, res) => {
    res.statusCode = req.url === '/sgx/certification/v4/rootcacrl' ? 200 : 404;
    res.end('crl');
  });
  await new Promise<void>((r) => pccs.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    aesmd.close();
    pccs.close();
  });
  const stop = new AbortController();
  const ctx = context(stop.signal);
  const run = runCli(
    [
      'node',
      'device-plugin',
      '--doctor-aesmd-socket',
      join(dir, 'aesmd', 'aesm.socket'),
      '--doctor-pccs-url',
      `http://127.0.0.1:${(pccs.address() as AddressInfo).port}`,
      '--device-plugin-dir',
      dir,
      '--simulate',
      'Standard_DC1s_v2',
      '--dev-root',
      host.devRoot,
      '--sys-root',
      host.sysRoot,
      '--metrics-listen',
      '127.0.0.1:0',
      '--pod-resources-socket',
      '',
      '--doctor-interval',
      '0',
      '--log-level',
      'info',
    ],
    ctx,
  );
  try {
    await peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', 20_000);
    let url: string | undefined;
    for (let i = 0; i < 500 && url === undefined; i++) {
      for (const line of ctx.out.join('').split('\n'))
        if (line.includes('metrics listening')) url = (JSON.parse(line) as { url: string }).url;
      if (url === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(url, ctx.out.join(''));
    let checks: ReturnType<typeof doctorResults> = [];
    for (let i = 0; i < 200 && checks.length === 0; i++) {
      checks = doctorResults(parseMetricsText(await (await fetch(`${url}/metrics`)).text()));
      if (checks.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    const byId = Object.fromEntries(checks.map((c) => [c.check, c.status]));
    // No enclave device on this host: on a simulated node that is a warning, not a failure; the EPC
    // comes from the simulated size.
    assert.equal(byId['enclave-device'], 'warn', JSON.stringify(checks));
    assert.equal(byId['epc'], 'pass');
    assert.equal(byId['aesmd'], 'pass', JSON.stringify(checks));
    assert.equal(byId['pccs'], 'pass', JSON.stringify(checks));
    assert.ok(!checks.some((c) => c.status === 'fail'), JSON.stringify(checks));
  } finally {
    stop.abort(new Error('received SIGTERM'));
    assert.equal(await run, 0);
  }
});

test('ccnodes node device-plugin refuses a malformed --doctor-interval before starting (exit 2)', async () => {
  const ctx = context(new AbortController().signal);
  const code = await runCli(
    ['node', 'device-plugin', '--simulate', 'Standard_DC1s_v2', '--doctor-interval', '5m'],
    ctx,
  );
  assert.equal(code, 2);
  assert.match(ctx.err.join(''), /--doctor-interval/);
});
