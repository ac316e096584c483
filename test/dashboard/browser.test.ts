/**
 * Browser tests: a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
 * loads every page of the running demo's dashboard, checks the numbers it shows against the JSON
 * API, checks that every request stays on the dashboard's origin and that no content security
 * policy violation is reported, and saves the screenshots docs/dashboard.md shows
 * (docs/images/dashboard-*.png, with CCNODES_UPDATE_SCREENSHOTS=1). A second dashboard over the 50-node fake cluster gives the Nodes
 * screenshot of a larger pool.
 *
 * Without Chromium the test skips with one line — except under CI=true, where it fails (.ci/run
 * installs the Debian package).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDemoDashboard } from '../../src/cli/dashboard-demo.ts';
import { runDemo } from '../../src/cli/demo.ts';
import { createDashboard, kubeApiSource, PAGES } from '../../src/dashboard/index.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { generateCluster, startFakeCluster } from './fake-cluster.ts';
import { simulateReport } from './plan-report-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const skip =
  !present && process.env['CI'] !== 'true' ? `${CHROMIUM} is absent (apt-get install chromium)` : false;
/**
 * Where screenshots go: docs/images with CCNODES_UPDATE_SCREENSHOTS=1 (to refresh the docs), else a
 * temp dir (a test run leaves the checkout clean).
 */
const IMAGES =
  process.env['CCNODES_UPDATE_SCREENSHOTS'] === '1'
    ? join(REPO_ROOT, 'docs', 'images')
    : mkdtempSync(join(tmpdir(), 'ccnodes-screenshots-'));
process.on('exit', () => {
  if (!IMAGES.startsWith(REPO_ROOT)) rmSync(IMAGES, { recursive: true, force: true });
});
const rng = seededRandom(import.meta.url);

async function withBrowser<T>(fn: (context: BrowserContext) => Promise<T>): Promise<T> {
  assert.ok(present, `${CHROMIUM} is required under CI=true (.ci/run installs it)`);
  const profile = mkdtempSync(join(tmpdir(), 'ccnodes-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
    viewport: { width: 1360, height: 900 },
    timeout: 60_000,
  });
  try {
    return await fn(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Every `[data-k]` value on the page. */
async function shownValues(page: Page): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const el of await page.locator('[data-k]').all())
    out.set((await el.getAttribute('data-k')) ?? '', (await el.textContent()) ?? '');
  return out;
}

function slug(path: string): string {
  return path.slice(1);
}

test(
  'every page of the demo dashboard in Chromium: numbers equal the API, no request off the origin, screenshots',
  { skip, timeout: 240_000 },
  async () => {
    let done = false;
    const report = await runDemo({
      keep: async (stack) => {
        const d = await startDemoDashboard(stack);
        try {
          // One refused attestation, so the timeline shows a refusal and its reason.
          const bad = await fetch(`${stack.attestationUrl}/attest/SgxEnclave?api-version=2022-08-01`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ quote: Buffer.from('not a quote at all').toString('base64url') }),
          });
          assert.equal(bad.status, 400);
          const api = async (path: string): Promise<Record<string, unknown>> =>
            (await (await fetch(`${d.url}${path}`)).json()) as Record<string, unknown>;
          await withBrowser(async (context) => {
            const origin = new URL(d.url).origin;
            const requests: string[] = [];
            const problems: string[] = [];
            context.on('request', (r) => requests.push(r.url()));
            const page = await context.newPage();
            page.on('console', (m) => {
              if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
            });
            page.on('pageerror', (e) => problems.push(e.message));
            for (const p of PAGES) {
              const res = await page.goto(`${d.url}${p.path}`, { waitUntil: 'load', timeout: 60_000 });
              assert.equal(res?.status(), 200, p.path);
              assert.equal(await page.locator('h1').textContent(), p.title);
              assert.equal(
                await page.locator('.notice').count(),
                0,
                `${p.path}: ${await page
                  .locator('.notice')
                  .allTextContents()
                  .then((x) => x.join('; '))}`,
              );
              // The stylesheet applied (the page is not unstyled because of the policy).
              const bg = await page
                .locator('header')
                .evaluate(
                  (e: unknown) =>
                    (
                      globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }
                    ).getComputedStyle(e).backgroundColor,
                );
              assert.equal(bg, 'rgb(29, 43, 74)', `${p.path} stylesheet`);
              const shown = await shownValues(page);
              const json = await api(`/api${p.path}`);
              if (p.path === '/nodes') {
                const nodes = json['sgxNodes'] as {
                  name: string;
                  epcMib: { allocated: number; capacity: number };
                  epcPods: number;
                }[];
                assert.equal(shown.get('sgxNodes.length'), String(nodes.length));
                for (const n of nodes) {
                  assert.equal(shown.get(`node.${n.name}.epcMib.allocated`), String(n.epcMib.allocated));
                  assert.equal(shown.get(`node.${n.name}.epcMib.capacity`), String(n.epcMib.capacity));
                  assert.equal(shown.get(`node.${n.name}.epcPods`), String(n.epcPods));
                }
              } else if (p.path === '/workloads') {
                assert.equal(shown.get('holding'), String(json['holding']));
                assert.equal(shown.get('pods.length'), String((json['pods'] as unknown[]).length));
              } else if (p.path === '/attestations') {
                for (const k of ['total', 'allowed', 'refused'])
                  assert.equal(shown.get(k), String(json[k]), k);
                assert.ok(Number(json['refused']) >= 1);
                assert.ok((await page.locator('code.code').count()) >= 1, 'a refusal code is shown');
              } else if (p.path === '/policies') {
                assert.equal(shown.get('secrets.length'), String((json['secrets'] as unknown[]).length));
                for (const pol of json['policies'] as { type: string; hash: string }[])
                  assert.equal(shown.get(`policies.${pol.type}.hash`), pol.hash);
              } else if (p.path === '/plan') {
                // The demo has no plan report: the page says how to add one (the next test shows one).
                assert.ok((await page.locator('main').textContent())?.includes('--plan-report'));
              } else {
                for (const f of json['fmspcs'] as { fmspc: string; nextUpdate: string }[])
                  assert.equal(shown.get(`fmspc.${f.fmspc}.nextUpdate`), f.nextUpdate);
              }
              const png = await page.screenshot({ path: join(IMAGES, `dashboard-${slug(p.path)}.png`) });
              assert.ok(png.length > 10_000, `${p.path} screenshot`);
            }
            const off = requests.filter((u) => new URL(u).origin !== origin);
            assert.deepEqual(off, [], 'requests left the dashboard origin');
            assert.ok(requests.some((u) => u.endsWith('/assets/dashboard.css')));
            assert.deepEqual(problems, []);
          });
          done = true;
        } finally {
          await d.close();
        }
      },
    });
    assert.equal(report.ok, true);
    assert.equal(done, true);
  },
);

test(
  'the Plan page with a plan simulate report in Chromium: numbers equal the API, charts load as images, a hostile report runs nothing',
  { skip, timeout: 180_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'ccnodes-plan-browser-'));
    const good = join(work, 'reports', 'dc4s-v2-burst');
    await simulateReport(good);
    const evil = join(work, 'hostile');
    cpSync(good, evil, { recursive: true });
    writeFileSync(
      join(evil, 'index.html'),
      '<!doctype html><title>report</title><p id="p">static</p><script>document.title = "pwned"; document.getElementById("p").textContent = "ran"</script>',
    );
    const d = createDashboard({
      planReports: [{ dir: join(work, 'reports') }, { dir: evil }],
      sampleIntervalMs: 0,
    });
    const url = await d.listen('127.0.0.1', 0);
    try {
      const json = (await (await fetch(`${url}/api/plan`)).json()) as {
        reports: { id: number; name: string; summary: Record<string, number> }[];
      };
      assert.deepEqual(
        json.reports.map((r) => r.name),
        ['dc4s-v2-burst', 'hostile'],
      );
      await withBrowser(async (context) => {
        const origin = new URL(url).origin;
        const requests: string[] = [];
        const problems: string[] = [];
        context.on('request', (r) => requests.push(r.url()));
        const page = await context.newPage();
        page.on('console', (m) => {
          if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        const res = await page.goto(`${url}/plan`, { waitUntil: 'load', timeout: 60_000 });
        assert.equal(res?.status(), 200);
        assert.equal(await page.locator('h1').textContent(), 'Plan');
        assert.equal(await page.locator('.notice').count(), 0);
        const shown = await shownValues(page);
        for (const r of json.reports)
          for (const k of ['peakNodes', 'nodeHours', 'cost', 'maxPending', 'events'])
            assert.equal(shown.get(`plan.${r.id}.${k}`), String(r.summary[k]), `${r.name} ${k}`);
        // Every chart decoded as an image (an SVG in <img> never runs script).
        const imgs = page.locator('img.plan-chart');
        assert.equal(await imgs.count(), 8);
        for (const img of await imgs.all()) {
          const width = await img.evaluate((e: unknown) => (e as { naturalWidth: number }).naturalWidth);
          assert.ok(width > 100, `${await img.getAttribute('src')} decoded`);
        }
        await page.locator('#report-0').screenshot({ path: join(IMAGES, 'dashboard-plan.png') });
        assert.deepEqual(
          requests.filter((u) => new URL(u).origin !== origin),
          [],
          'requests left the dashboard origin',
        );
        assert.deepEqual(problems, []);
        // The report as written, sandboxed: its script does not run (its text stays, its title too).
        const html = await context.newPage();
        await html.goto(`${url}/plan/1/report.html`, { waitUntil: 'load', timeout: 60_000 });
        assert.equal(await html.title(), 'report');
        assert.equal(await html.locator('#p').textContent(), 'static');
      });
    } finally {
      await d.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test(
  'the Nodes page of a 50-node pool in Chromium (the docs screenshot of a larger cluster)',
  { skip, timeout: 180_000 },
  async () => {
    const cluster = generateCluster(rng);
    const api = await startFakeCluster(cluster);
    const d = createDashboard({ kube: await kubeApiSource(api.kubeConfig()), sampleIntervalMs: 0 });
    const url = await d.listen('127.0.0.1', 0);
    try {
      await d.sample();
      await withBrowser(async (context) => {
        const page = await context.newPage();
        await page.goto(`${url}/nodes`, { waitUntil: 'load', timeout: 60_000 });
        const shown = await shownValues(page);
        const json = (await (await fetch(`${url}/api/nodes`)).json()) as {
          totals: { epcAllocatedMib: number };
          sgxNodes: unknown[];
        };
        assert.equal(shown.get('totals.epcAllocatedMib'), String(json.totals.epcAllocatedMib));
        assert.equal(shown.get('sgxNodes.length'), String(json.sgxNodes.length));
        assert.equal(await page.locator('tr[data-node]').count(), json.sgxNodes.length);
        await page.screenshot({ path: join(IMAGES, 'dashboard-nodes-cluster.png') });
      });
    } finally {
      await d.close();
      await api.close();
    }
  },
);
