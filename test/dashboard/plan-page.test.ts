/**
 * The Plan page: `ccnodes plan simulate -o <dir>` reports shown by the dashboard (`--plan-report`).
 * The page is rendered from report.json (its numbers equal the report's), the charts are served as
 * images and the report's own HTML only as a sandboxed document; a hostile report cannot run script
 * in the dashboard's origin, and no request path reaches another file.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/index.ts';
import {
  CONTENT_SECURITY_POLICY,
  createDashboard,
  PLAN_FILE_CSP,
  type Dashboard,
} from '../../src/dashboard/index.ts';
import { dataValues } from './page-values.ts';
import { context, simulateReport } from './plan-report-fixture.ts';

let work: string;
let reports: string;
let dashboard: Dashboard;
let url: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ccnodes-plan-page-'));
  reports = join(work, 'reports');
  await simulateReport(join(reports, 'a-baseline'));
  // A hostile "report": script in its HTML, an active chart, markup in its parameters and events.
  const evil = join(reports, 'b-hostile');
  cpSync(join(reports, 'a-baseline'), evil, { recursive: true });
  writeFileSync(
    join(evil, 'index.html'),
    '<!doctype html><title>x</title><script>document.title = "pwned"</script><p>hostile</p>',
  );
  writeFileSync(
    join(evil, 'epc.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
  );
  writeFileSync(
    join(evil, 'nodes.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>',
  );
  const doc = JSON.parse(readFileSync(join(evil, 'report.json'), 'utf8')) as {
    parameters: Record<string, string>;
    events: { t: number; kind: string; message: string }[];
  };
  doc.parameters['<img src=x onerror=alert(1)>'] = '<script>alert(2)</script>';
  doc.events.unshift({ t: 0, kind: 'scale-up', message: '<b onmouseover="alert(3)">x</b>' });
  writeFileSync(join(evil, 'report.json'), JSON.stringify(doc));
  mkdirSync(join(reports, 'c-not-a-report'));
  dashboard = createDashboard({ planReports: [{ dir: reports }], sampleIntervalMs: 0, cacheMs: 0 });
  url = await dashboard.listen('127.0.0.1', 0);
});
after(async () => {
  await dashboard.close();
  rmSync(work, { recursive: true, force: true });
});

interface PlanJson {
  reports: {
    id: number;
    name: string;
    summary: Record<string, number | string>;
    charts: string[];
    events: unknown[];
  }[];
  errors: string[];
}

test('the Plan page shows each report of the directory with the numbers of its report.json and its four charts', async () => {
  const res = await fetch(`${url}/api/plan`);
  assert.equal(res.status, 200);
  const v = (await res.json()) as PlanJson;
  assert.deepEqual(
    v.reports.map((r) => r.name),
    ['a-baseline', 'b-hostile'],
  );
  const written = JSON.parse(readFileSync(join(reports, 'a-baseline', 'report.json'), 'utf8')) as {
    summary: Record<string, number | string>;
  };
  const a = v.reports[0];
  assert.ok(a);
  for (const k of ['peakNodes', 'nodeHours', 'cost', 'maxPending', 'events', 'currency'])
    assert.equal(a.summary[k], written.summary[k], k);
  assert.deepEqual(a.charts, ['replicas.svg', 'nodes.svg', 'epc.svg', 'pending.svg']);

  const page = await (await fetch(`${url}/plan`)).text();
  const shown = dataValues(page);
  for (const k of ['peakNodes', 'nodeHours', 'cost', 'maxPending', 'events'])
    assert.equal(shown.get(`plan.0.${k}`), String(written.summary[k]), k);
  for (const c of a.charts) assert.ok(page.includes(`<img class="plan-chart" src="/plan/0/${c}"`), c);
  assert.ok(page.includes('<a href="/plan">Plan</a>') || page.includes('href="/plan" aria-current'));

  const svg = await fetch(`${url}/plan/0/epc.svg`);
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  assert.equal(svg.headers.get('content-security-policy'), PLAN_FILE_CSP);
  assert.equal(await svg.text(), readFileSync(join(reports, 'a-baseline', 'epc.svg'), 'utf8'));
});

test('a hostile report cannot run script in the dashboard origin: escaped text, active charts refused, HTML sandboxed', async () => {
  const page = await (await fetch(`${url}/plan`)).text();
  const res = await fetch(`${url}/plan`);
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.ok(!page.includes('<script'), 'no script element on the page');
  assert.ok(!/<[^>]+\son[a-z]+=/i.test(page), 'no event handler attribute on the page');
  assert.ok(page.includes('&lt;script&gt;alert(2)&lt;/script&gt;'));
  assert.ok(page.includes('&lt;b onmouseover=&quot;alert(3)&quot;&gt;'));
  for (const chart of ['epc.svg', 'nodes.svg']) {
    const r = await fetch(`${url}/plan/1/${chart}`);
    assert.equal(r.status, 503, chart);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ERR_DASHBOARD_SOURCE');
    assert.match(body.error.message, /active content/);
  }
  const html = await fetch(`${url}/plan/1/report.html`);
  assert.equal(html.status, 200);
  const csp = html.headers.get('content-security-policy') ?? '';
  assert.equal(csp, PLAN_FILE_CSP);
  assert.match(csp, /^sandbox;/);
  assert.match(csp, /script-src 'none'/);
});

test('only the fixed file names of a listed report are served (no traversal, no other file)', async () => {
  writeFileSync(join(work, 'secret.txt'), 'do not serve');
  for (const p of [
    '/plan/0/report.json',
    '/plan/0/..%2F..%2Fsecret.txt',
    '/plan/0/%2e%2e%2freport.json',
    '/plan/9/epc.svg',
    '/plan/-1/epc.svg',
    '/plan/0x0/epc.svg',
    '/plan/2/epc.svg',
  ]) {
    const r = await fetch(`${url}${p}`);
    assert.equal(r.status, 404, p);
    assert.ok(!(await r.text()).includes('do not serve'), p);
  }
});

test('without --plan-report the Plan page says how to add one (no error)', async () => {
  const d = createDashboard({ sampleIntervalMs: 0 });
  try {
    const u = await d.listen('127.0.0.1', 0);
    const page = await (await fetch(`${u}/plan`)).text();
    assert.ok(page.includes('--plan-report'));
    assert.ok(!page.includes('class="notice"'));
  } finally {
    await d.close();
  }
});

test('dashboard serve refuses a --plan-report that is not a directory (exit 2)', async () => {
  const ctx = context();
  const code = await runCli(
    ['dashboard', 'serve', '--listen', '127.0.0.1:0', '--plan-report', join(work, 'nope'), '--json'],
    ctx,
  );
  assert.equal(code, 2);
  assert.match(ctx.out.join(''), /--plan-report/);
});
