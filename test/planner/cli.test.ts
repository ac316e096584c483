/**
 * `ccnodes plan` and `ccnodes plan simulate` through the CLI: numbers, exit statuses, typed errors,
 * the report files (well-formed SVGs, self-contained HTML, figures matching report.json).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliContext } from '../../src/cli/index.ts';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const ex = (f: string): string => join(root, 'examples', 'planner', f);
const dir = mkdtempSync(join(tmpdir(), 'ccnodes-plan-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const captured = { out: '', err: '' };
  const ctx: CliContext = {
    stdout: (t) => {
      captured.out += t;
    },
    stderr: (t) => {
      captured.err += t;
    },
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, ...captured };
}

/** A strict-enough well-formedness check: balanced tags, quoted attributes, no stray `<` or `&`. */
function assertWellFormedXml(xml: string, name: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?xml[^>]*\?>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(xml)) !== null) {
    const text = xml.slice(last, m.index);
    assert.doesNotMatch(
      text,
      /<|&(?!(amp|lt|gt|quot|apos|#\d+);)/,
      `${name}: stray markup in text "${text.slice(0, 40)}"`,
    );
    last = tag.lastIndex;
    if (m[2] === undefined) continue;
    if (m[1] === '/') assert.equal(stack.pop(), m[2], `${name}: </${m[2]}> closes the wrong element`);
    else if (m[4] !== '/') stack.push(m[2]);
  }
  assert.doesNotMatch(xml.slice(last), /</, `${name}: unparsed markup at the end`);
  assert.deepEqual(stack, [], `${name}: unclosed elements`);
}

describe('ccnodes plan', () => {
  test('plans the example workloads per SKU and picks the cheapest plan (JSON)', async () => {
    const r = await run(['plan', '--workload', ex('workloads.yaml'), '--sku', 'DC2s_v2,DC4s_v3', '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as {
      ok: boolean;
      perSku: { sku: string; nodes: number; unschedulablePods: number; costPerHour: number }[];
      best: {
        countBySku: Record<string, number>;
        costPerHour: number;
        totals: { epcMiB: { requested: number } };
      };
      daemonSets: { id: string; requests: Record<string, number> }[];
    };
    assert.equal(doc.ok, true);
    // DC2s_v2 (56 MiB): 6 × 32 MiB one per node; the 64 MiB batch and 8 GiB vault pods fit nowhere.
    assert.deepEqual(doc.perSku[0], {
      ...doc.perSku[0],
      sku: 'Standard_DC2s_v2',
      nodes: 6,
      unschedulablePods: 7,
    });
    // Best: DC4s_v3 only (16 GiB EPC each): 3 nodes for 6×32 + 4×64 + 3×8192 MiB.
    assert.deepEqual(doc.best.countBySku, { Standard_DC4s_v3: 3 });
    assert.equal(doc.best.totals.epcMiB.requested, 6 * 32 + 4 * 64 + 3 * 8192);
    // The system DaemonSets' requests come from deploy/manifests.
    const dp = doc.daemonSets.find((d) => d.id.endsWith('ccnodes-device-plugin'));
    assert.deepEqual(dp?.requests, { cpu: 40, memory: 64 * 1024 * 1024 });
  });

  test('unschedulable pods: exit 1 and the kube-scheduler message in the table', async () => {
    const r = await run(['plan', '--workload', ex('workloads.yaml'), '--sku', 'DC2s_v2']);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /StatefulSet\/default\/key-vault ×3: 0\/6 nodes are available: 6 Insufficient kubernetes\.azure\.com\/sgx_epc_mem_in_MiB, 6 Insufficient sgx\.intel\.com\/epc\./,
    );
    // The price line names the region, OS, date and source of the built-in prices.
    assert.match(r.out, /Prices: Azure Retail Prices API .*eastus.*2026-06-18/);
  });

  test('bad input: typed planner errors exit 2 with their code (JSON too); a missing file is ERR_IO', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'kind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: -1\n  template: {spec: {containers: [{name: c}]}}\n',
    );
    const r = await run(['plan', '--workload', 'bad.yaml', '--json']);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(doc.error.code, 'ERR_PLAN_WORKLOAD');
    assert.match(doc.error.message, /spec\.replicas/);
    assert.equal((await run(['plan', '--workload', ex('workloads.yaml'), '--sku', 'DC9s_v9'])).code, 2);
    const missing = await run(['plan', '--workload', 'nope.yaml', '--json']);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /ERR_IO/);
  });

  test('--sku-table replaces the built-in table', async () => {
    writeFileSync(
      join(dir, 'skus.json'),
      JSON.stringify({
        currency: 'EUR',
        priceRegion: 'test',
        priceDate: '2026-01-01',
        priceSource: 'test table',
        skus: [{ name: 'Standard_DC4s_v2', vcpu: 4, memoryGiB: 16, epcMiB: 112, pricePerHour: 0.5 }],
      }),
    );
    const r = await run([
      'plan',
      '--workload',
      ex('simulate-workloads.yaml'),
      '--sku-table',
      'skus.json',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { best: { costPerHour: number; countBySku: Record<string, number> } };
    assert.deepEqual(doc.best.countBySku, { Standard_DC4s_v2: 1 });
    assert.equal(doc.best.costPerHour, 0.5);
  });
});

describe('ccnodes plan simulate', () => {
  test('writes index.html, four well-formed SVGs and report.json whose figures match the summary', async () => {
    const out = join(dir, 'report');
    const r = await run([
      'plan',
      'simulate',
      '--workload',
      ex('simulate-workloads.yaml'),
      '--hpa',
      ex('hpa.yaml'),
      '--load',
      ex('load.csv'),
      '--autoscaler',
      ex('autoscaler.yaml'),
      '-o',
      'report',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out) as {
      files: string[];
      peakNodes: number;
      cost: number;
      maxPending: number;
    };
    assert.deepEqual(readdirSync(out).sort(), [
      'epc.svg',
      'index.html',
      'nodes.svg',
      'pending.svg',
      'replicas.svg',
      'report.json',
    ]);
    assert.deepEqual(summary.files, readdirSync(out).sort());
    for (const f of ['epc.svg', 'nodes.svg', 'pending.svg', 'replicas.svg']) {
      const svg = readFileSync(join(out, f), 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assertWellFormedXml(svg, f);
      assert.match(svg, /<path d="M/);
    }
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.doesNotMatch(
      html,
      /<script|\ssrc=|\shref=|url\(/i,
      'self-contained: no script, no external reference',
    );
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.match(html, new RegExp(`<td id="peak-nodes">${summary.peakNodes}</td>`));
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      samples: {
        t: number;
        pendingPods: number;
        nodes: Record<string, { ready: number; provisioning: number }>;
      }[];
    };
    const peak = Math.max(
      ...report.samples.map((s) => Object.values(s.nodes).reduce((a, n) => a + n.ready + n.provisioning, 0)),
    );
    assert.equal(peak, summary.peakNodes);
    assert.equal(Math.max(...report.samples.map((s) => s.pendingPods)), summary.maxPending);
    // Same input, same files.
    const again = await run([
      'plan',
      'simulate',
      '--workload',
      ex('simulate-workloads.yaml'),
      '--hpa',
      ex('hpa.yaml'),
      '--load',
      ex('load.csv'),
      '--autoscaler',
      ex('autoscaler.yaml'),
      '-o',
      'report2',
    ]);
    assert.equal(again.code, 0, again.err);
    for (const f of ['index.html', 'epc.svg', 'report.json'])
      assert.equal(readFileSync(join(dir, 'report2', f), 'utf8'), readFileSync(join(out, f), 'utf8'));
  });

  test('--unneeded-time and --scale-down-delay override the autoscaler file', async () => {
    const first = async (out: string, extra: string[]): Promise<number | undefined> => {
      const r = await run([
        'plan',
        'simulate',
        '--workload',
        ex('simulate-workloads.yaml'),
        '--hpa',
        ex('hpa.yaml'),
        '--load',
        ex('load.csv'),
        '--autoscaler',
        ex('autoscaler.yaml'),
        '-o',
        out,
        ...extra,
      ]);
      assert.equal(r.code, 0, r.err);
      const rep = JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8')) as {
        events: { t: number; kind: string }[];
        autoscaler: { scaleDownUnneededTime: number; scaleDownDelayAfterAdd: number };
      };
      return rep.events.find((e) => e.kind === 'scale-down')?.t;
    };
    const slow = await first('slow', []);
    const fast = await first('fast', ['--unneeded-time', '1m', '--scale-down-delay', '1m']);
    assert.ok(slow !== undefined && fast !== undefined);
    assert.ok(fast < slow, `scale-down at ${fast}s with 1m settings, ${slow}s with 10m`);
  });

  test('usage errors: --load and -o are required; a bad autoscaler setting is ERR_PLAN_AUTOSCALER', async () => {
    assert.equal(
      (await run(['plan', 'simulate', '--workload', ex('simulate-workloads.yaml'), '-o', 'x'])).code,
      2,
    );
    writeFileSync(join(dir, 'ca.yaml'), 'scaleDownDelayAfterAdd: soon\n');
    const r = await run([
      'plan',
      'simulate',
      '--workload',
      ex('simulate-workloads.yaml'),
      '--load',
      ex('load.csv'),
      '--autoscaler',
      'ca.yaml',
      '-o',
      'x',
      '--json',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.out, /ERR_PLAN_AUTOSCALER/);
  });
});
