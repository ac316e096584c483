/**
 * The dashboard's HTML pages, rendered on the server from the same view models the JSON API returns.
 * No script at all (the policy says `script-src 'none'`); the Attestations page refreshes itself
 * with a meta refresh. Numbers carry a `data-k` attribute naming the API field they show, so tests
 * can read a page and compare it with the API.
 */
import type { PolicyInfo, SecretInfo } from './attestation-source.ts';
import type { CollateralStatus } from './collateral-status.ts';
import type { PlanReport } from './plan-reports.ts';
import { escapeHtml as e } from './html-escape.ts';
import type {
  AgentHealth,
  AttestationFilter,
  AttestationsView,
  NodesView,
  PolicyChange,
  WorkloadsView,
} from './model.ts';
import { lineChart, stackedBars, type Series } from './svg.ts';

export const PAGES = [
  { path: '/nodes', title: 'Nodes' },
  { path: '/workloads', title: 'Workloads' },
  { path: '/attestations', title: 'Attestations' },
  { path: '/policies', title: 'Policies & secrets' },
  { path: '/collateral', title: 'Collateral' },
  { path: '/plan', title: 'Plan' },
] as const;

const MIB = 1024 * 1024;
/** Rows shown in one table before "showing n of m". */
export const MAX_ROWS = 500;

/** A page's frame: navigation, title, notices, body. */
export function layout(
  current: string,
  body: string,
  options: { notices?: readonly string[]; refreshSeconds?: number; generatedAt: Date },
): string {
  const title = PAGES.find((p) => p.path === current)?.title ?? 'Dashboard';
  const nav = PAGES.map(
    (p) =>
      `<a href="${p.path}"${p.path === current ? ' aria-current="page" class="current"' : ''}>${e(p.title)}</a>`,
  ).join('');
  const notices = (options.notices ?? []).map((n) => `<p class="notice">${e(n)}</p>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${
    options.refreshSeconds === undefined
      ? ''
      : `<meta http-equiv="refresh" content="${options.refreshSeconds}">`
  }<title>ccnodes — ${e(title)}</title><link rel="stylesheet" href="/assets/dashboard.css"></head>
<body><header><span class="brand">ccnodes</span><nav>${nav}</nav><span class="ro">read-only</span></header>
<main><h1>${e(title)}</h1>${notices}${body}</main>
<footer>Rendered ${e(options.generatedAt.toISOString())} · JSON: <a href="/api${current}">/api${e(current)}</a></footer></body></html>
`;
}

const num = (k: string, v: number | undefined, unit = ''): string =>
  v === undefined
    ? `<span class="na">—</span>`
    : `<span data-k="${e(k)}">${v}</span>${unit === '' ? '' : ` ${e(unit)}`}`;

const mib = (bytes: number | undefined): string =>
  bytes === undefined ? '—' : `${Math.round((bytes / MIB) * 10) / 10} MiB`;

function card(label: string, value: string): string {
  return `<div class="card"><div class="card-label">${e(label)}</div><div class="card-value">${value}</div></div>`;
}

function agentCell(agents: readonly AgentHealth[], kind: AgentHealth['kind']): string {
  const a = agents.filter((x) => x.kind === kind || (x.kind === 'unknown' && !x.up));
  if (a.length === 0) return '<span class="na">not scraped</span>';
  return a
    .map(
      (x) =>
        `<span class="${x.healthy ? 'ok' : 'bad'}" title="${e(`${x.target}: ${x.detail}`)}">${x.healthy ? 'healthy' : x.up ? 'unhealthy' : 'unreachable'}</span>`,
    )
    .join(' ');
}

/** The node doctor's verdict from the device plugin's export: counts, and the checks that did not pass. */
function doctorCell(agents: readonly AgentHealth[], node: string): string {
  const a = agents.find((x) => x.kind === 'device-plugin' && x.doctor !== undefined);
  if (a?.doctor === undefined) return '<span class="na">—</span>';
  const count = (st: string): number => a.doctor?.filter((c) => c.status === st).length ?? 0;
  const [pass, warn, fail] = [count('pass'), count('warn'), count('fail')];
  const k = `node.${node}.doctor`;
  const list = a.doctor
    .map(
      (c) =>
        `<li class="${c.status === 'pass' ? 'ok' : c.status === 'warn' ? 'warn' : 'bad'}">${e(c.status)} <code>${e(c.check)}</code></li>`,
    )
    .join('');
  const summary = `<span class="${fail > 0 ? 'bad' : warn > 0 ? 'warn' : 'ok'}"><span data-k="${e(k)}.pass">${pass}</span> pass · <span data-k="${e(k)}.warn">${warn}</span> warn · <span data-k="${e(k)}.fail">${fail}</span> fail</span>`;
  return `<details><summary>${summary}</summary><ul class="doctor">${list}</ul>${a.doctorAt === undefined ? '' : `<small>ran ${e(a.doctorAt.replace('T', ' ').slice(0, 19))}</small>`}</details>`;
}

/** The Nodes page. */
export function nodesPage(v: NodesView, epc: readonly Series[]): string {
  const t = v.totals;
  const cards = [
    card('SGX nodes', `${num('sgxNodes.length', v.sgxNodes.length)} of ${num('totalNodes', v.totalNodes)}`),
    card(
      'EPC allocated (MiB dialect)',
      `${num('totals.epcAllocatedMib', t.epcAllocatedMib)} / ${num('totals.epcAllocatableMib', t.epcAllocatableMib)} MiB`,
    ),
    card(
      'EPC allocated (sgx.intel.com/epc)',
      `${mib(t.intelEpcAllocatedBytes)} / ${mib(t.intelEpcAllocatableBytes)}`,
    ),
  ].join('');
  const rows = v.sgxNodes
    .map((n) => {
      const k = `node.${n.name}`;
      const labels = Object.entries(n.labels)
        .map(([a, b]) => `<li><code>${e(a)}=${e(b)}</code></li>`)
        .join('');
      return `<tr data-node="${e(n.name)}"><td><strong>${e(n.name)}</strong>${n.simulated ? ' <span class="tag">simulated</span>' : ''}</td>
<td>${e(n.sku ?? '—')}</td><td class="${n.ready ? 'ok' : 'bad'}">${n.ready ? 'Ready' : 'NotReady'}</td>
<td class="num">${num(`${k}.epcMib.allocated`, n.epcMib.allocated)} / ${num(`${k}.epcMib.allocatable`, n.epcMib.allocatable)}</td>
<td class="num">${num(`${k}.epcMib.capacity`, n.epcMib.capacity)}</td>
<td class="num">${num(`${k}.intelEpcBytes.allocated`, n.intelEpcBytes.allocated)} / ${num(`${k}.intelEpcBytes.allocatable`, n.intelEpcBytes.allocatable)}<br><small>${mib(n.intelEpcBytes.allocated)} / ${mib(n.intelEpcBytes.allocatable)}</small></td>
<td class="num">${num(`${k}.epcPods`, n.epcPods)}</td>
<td>${agentCell(n.agents, 'device-plugin')}</td><td>${agentCell(n.agents, 'quote-helper')}</td><td>${doctorCell(n.agents, n.name)}</td>
<td>${n.taints.map((x) => `<code>${e(x)}</code>`).join('<br>') || '—'}</td>
<td><details><summary>${Object.keys(n.labels).length} labels</summary><ul>${labels}</ul></details></td></tr>`;
    })
    .join('\n');
  const others =
    v.otherAgents.length === 0
      ? ''
      : `<h2>Other scraped endpoints</h2><table><thead><tr><th>Endpoint</th><th>Kind</th><th>Node</th><th>Health</th><th>Detail</th></tr></thead><tbody>${v.otherAgents
          .map(
            (a) =>
              `<tr><td><code>${e(a.target)}</code></td><td>${e(a.kind)}</td><td>${e(a.node ?? '—')}</td><td class="${a.healthy ? 'ok' : 'bad'}">${a.healthy ? 'healthy' : a.up ? 'unhealthy' : 'unreachable'}</td><td>${e(a.detail)}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  return `<section class="cards">${cards}</section>
<figure>${lineChart('EPC allocated per node over time', epc, 'MiB')}</figure>
<table class="nodes"><thead><tr><th>Node</th><th>SKU</th><th>Status</th><th>EPC MiB allocated / allocatable<br><small>kubernetes.azure.com/sgx_epc_mem_in_MiB</small></th><th>EPC MiB capacity</th><th>EPC bytes allocated / allocatable<br><small>sgx.intel.com/epc</small></th><th>EPC pods</th><th>Device plugin</th><th>Quote helper</th><th>Doctor<br><small>device plugin's checks</small></th><th>Taints</th><th>Labels</th></tr></thead>
<tbody>${rows || '<tr><td colspan="12">No SGX node in this cluster.</td></tr>'}</tbody></table>${others}`;
}

/** The Workloads page. */
export function workloadsPage(v: WorkloadsView, namespace: string | undefined): string {
  const pods = v.pods.filter((p) => namespace === undefined || namespace === '' || p.namespace === namespace);
  const cards = [
    card('Pods holding EPC', num('holding', v.holding)),
    card('Pending pods asking for EPC', num('pending', v.pending)),
    card('Namespaces', num('namespaces.length', v.namespaces.length)),
  ].join('');
  const ns = v.namespaces
    .map(
      (n) =>
        `<tr><td><a href="/workloads?namespace=${encodeURIComponent(n.namespace)}">${e(n.namespace)}</a></td><td class="num">${num(`ns.${n.namespace}.pods`, n.pods)}</td><td class="num">${num(`ns.${n.namespace}.epcMib`, n.epcMib)}</td><td class="num">${num(`ns.${n.namespace}.intelEpcBytes`, n.intelEpcBytes)}</td></tr>`,
    )
    .join('');
  const rows = pods
    .slice(0, MAX_ROWS)
    .map(
      (p) =>
        `<tr><td>${e(p.namespace)}</td><td>${e(p.name)}</td><td>${e(p.node ?? '(pending)')}</td><td>${e(p.phase)}</td><td class="num">${p.epcMib}</td><td class="num">${p.intelEpcBytes}</td><td>${
          p.mrenclave === undefined
            ? '<span class="na">unknown</span>'
            : `<code class="hash" title="${e(p.mrenclave)}">${e(p.mrenclave.slice(0, 16))}…</code> <small>(${e(p.identitySource ?? '')})</small>`
        }</td></tr>`,
    )
    .join('\n');
  return `<section class="cards">${cards}</section>
<h2>Per namespace</h2><table><thead><tr><th>Namespace</th><th>Pods</th><th>EPC MiB</th><th>sgx.intel.com/epc bytes</th></tr></thead><tbody>${ns || '<tr><td colspan="4">None.</td></tr>'}</tbody></table>
<h2>Pods${namespace === undefined || namespace === '' ? '' : ` in ${e(namespace)} <a href="/workloads">(all)</a>`}</h2>
<p>Showing <span data-k="shown">${Math.min(MAX_ROWS, pods.length)}</span> of <span data-k="pods.length">${pods.length}</span>.</p>
<table><thead><tr><th>Namespace</th><th>Pod</th><th>Node</th><th>Phase</th><th>EPC MiB</th><th>EPC bytes (Intel)</th><th>MRENCLAVE</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The Attestations page. */
export function attestationsPage(
  v: AttestationsView,
  filter: AttestationFilter,
  latency: readonly Series[],
): string {
  const field = (name: keyof AttestationFilter, label: string, placeholder: string): string =>
    `<label>${e(label)} <input name="${name}" value="${e(filter[name] ?? '')}" placeholder="${e(placeholder)}" size="24"></label>`;
  const opt = (name: 'type' | 'decision', values: readonly [string, string][]): string =>
    `<select name="${name}">${values
      .map(
        ([val, text]) =>
          `<option value="${e(val)}"${(filter[name] ?? '') === val ? ' selected' : ''}>${e(text)}</option>`,
      )
      .join('')}</select>`;
  const form = `<form method="get" action="/attestations" class="filters">${field('mrenclave', 'MRENCLAVE', 'hex, or a prefix')}${field('mrsigner', 'MRSIGNER', 'hex, or a prefix')}
<label>Type ${opt('type', [
    ['', 'attest + release'],
    ['attest', 'attest'],
    ['secret-release', 'secret release'],
    ['all', 'every audit line'],
  ])}</label>
<label>Decision ${opt('decision', [
    ['', 'any'],
    ['allow', 'allow'],
    ['deny', 'deny'],
    ['error', 'error'],
  ])}</label><button type="submit">Filter</button></form>`;
  const cards = [
    card('Events (with repeats)', num('total', v.total)),
    card('Allowed', num('allowed', v.allowed)),
    card('Refused', num('refused', v.refused)),
  ].join('');
  const rows = v.events
    .slice(0, MAX_ROWS)
    .map(
      (a) =>
        `<tr class="${a.decision}"><td><time datetime="${e(a.at)}">${e(a.at.replace('T', ' ').slice(0, 19))}</time></td><td>${e(a.action)}</td><td class="${a.decision === 'allow' ? 'ok' : 'bad'}">${e(a.decision)}</td><td><code>${e(a.subject)}</code>${
          a.mrsigner === undefined
            ? ''
            : `<br><small>MRSIGNER <code class="hash" data-k="events.mrsigner" title="${e(a.mrsigner)}">${e(a.mrsigner.slice(0, 16))}…</code></small>`
        }</td><td>${
          a.refusalCode === undefined ? '' : `<code class="code">${e(a.refusalCode)}</code> `
        }${e(a.refusalCode === undefined ? a.reason : a.reason.slice(a.refusalCode.length).replace(/^:\s*/, ''))}</td><td>${e(a.actor)}</td><td class="num">${a.count}</td></tr>`,
    )
    .join('\n');
  const bars = stackedBars(
    'Attestations and releases per minute',
    v.perMinute.map((b) => ({ t: b.t, values: [b.allowed, b.refused] })),
    ['allowed', 'refused'],
    ['#2b8a3e', '#c92a2a'],
  );
  return `${form}<section class="cards">${cards}</section>
<div class="charts"><figure>${bars}</figure><figure>${lineChart('Token latency percentiles', latency, 'ms', { width: 520 })}</figure></div>
<p>Showing <span data-k="shown">${Math.min(MAX_ROWS, v.events.length)}</span> of <span data-k="events.length">${v.events.length}</span> lines, newest first.</p>
<table class="timeline"><thead><tr><th>Time (UTC)</th><th>Type</th><th>Decision</th><th>Subject</th><th>Reason</th><th>Caller</th><th>Count</th></tr></thead><tbody>${rows || '<tr><td colspan="7">No matching event.</td></tr>'}</tbody></table>`;
}

/** The Policies & secrets page. */
export function policiesPage(
  policies: readonly PolicyInfo[] | undefined,
  history: readonly PolicyChange[],
  secrets: readonly SecretInfo[] | undefined,
): string {
  const pol = (policies ?? [])
    .map(
      (p) =>
        `<section class="policy"><h2>${e(p.type)}</h2><p>Hash <code data-k="policies.${e(p.type)}.hash">${e(p.hash)}</code> · ${p.signed ? 'signed' : 'unsigned'}</p><pre>${e(p.text)}</pre></section>`,
    )
    .join('');
  const hist = history
    .slice(0, MAX_ROWS)
    .map(
      (h) =>
        `<tr><td>${e(h.at.replace('T', ' ').slice(0, 19))}</td><td>${e(h.type)}</td><td>${e(h.action)}</td><td>${h.hash === undefined ? 'default' : `<code>${e(h.hash)}</code>`}</td><td>${e(h.actor)}</td></tr>`,
    )
    .join('');
  const sec = (secrets ?? [])
    .map(
      (s) =>
        `<tr><td><strong>${e(s.name)}</strong></td><td>${e(s.contentType)}</td><td><pre class="small">${e(JSON.stringify(s.releasePolicy, null, 2))}</pre></td><td>${e(s.updatedAt.replace('T', ' ').slice(0, 19))}</td></tr>`,
    )
    .join('');
  return `${pol}<h2>Policy history</h2><table><thead><tr><th>Time (UTC)</th><th>Type</th><th>Change</th><th>New hash</th><th>By</th></tr></thead><tbody>${hist || '<tr><td colspan="5">No policy change in the audit log read.</td></tr>'}</tbody></table>
<h2>Secrets</h2><p>Names and release policies only: the dashboard never reads secret values.</p>
<p><span data-k="secrets.length">${(secrets ?? []).length}</span> secret(s).</p>
<table><thead><tr><th>Name</th><th>Content type</th><th>Release policy</th><th>Updated (UTC)</th></tr></thead><tbody>${sec || '<tr><td colspan="4">None.</td></tr>'}</tbody></table>`;
}

/** "in 3 d 4 h" / "expired 2 h ago". */
export function countdown(until: string | undefined, now: Date): { text: string; expired: boolean } {
  if (until === undefined) return { text: '—', expired: false };
  const t = Date.parse(until);
  if (Number.isNaN(t)) return { text: 'invalid date', expired: true };
  const ms = t - now.getTime();
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const span = d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
  return ms >= 0 ? { text: `in ${span}`, expired: false } : { text: `expired ${span} ago`, expired: true };
}

/** The Collateral page. */
export function collateralPage(c: CollateralStatus | undefined, now: Date): string {
  if (c === undefined)
    return '<p>No collateral source: start the dashboard with <code>--collateral-url</code>.</p>';
  const rows = c.fmspcs
    .map((f) => {
      const cd = countdown(f.nextUpdate, now);
      return `<tr><td><code>${e(f.fmspc)}</code></td><td class="${f.latestTcbStatus === 'UpToDate' ? 'ok' : 'warn'}">${e(f.latestTcbStatus ?? f.error ?? '—')}</td><td class="num">${f.tcbLevels}</td><td class="num">${f.tcbEvaluationDataNumber ?? '—'}</td><td>${e(f.issueDate ?? '—')}</td><td data-k="fmspc.${e(f.fmspc)}.nextUpdate">${e(f.nextUpdate ?? '—')}</td><td class="${cd.expired ? 'bad' : 'ok'}">${e(cd.text)}</td></tr>`;
    })
    .join('');
  const qe = c.qeIdentity;
  const qcd = countdown(qe?.nextUpdate, now);
  return `<p>Source: <code>${e(c.source)}</code></p>
<table><thead><tr><th>FMSPC</th><th>Latest TCB level status</th><th>TCB levels</th><th>TCB evaluation data number</th><th>Issued</th><th>nextUpdate</th><th>Expiry</th></tr></thead><tbody>${rows || '<tr><td colspan="7">No FMSPC configured or listed by the source.</td></tr>'}</tbody></table>
<h2>QE Identity</h2><p>${qe?.error === undefined ? `Issued ${e(qe?.issueDate ?? '—')}, nextUpdate <span data-k="qeIdentity.nextUpdate">${e(qe?.nextUpdate ?? '—')}</span> <span class="${qcd.expired ? 'bad' : 'ok'}">(${e(qcd.text)})</span>` : e(qe.error)}</p>`;
}

const CHART_TITLES: Readonly<Record<string, string>> = {
  'replicas.svg': 'Replicas (HPA desired vs running)',
  'nodes.svg': 'Nodes per group',
  'epc.svg': 'EPC requested vs allocatable',
  'pending.svg': 'Pending pods',
};

function clockOf(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The Plan page: `plan simulate` reports, rendered from their report.json, charts as images. */
export function planPage(reports: readonly PlanReport[], configured: boolean): string {
  if (reports.length === 0)
    return configured
      ? '<p>No report found in the <code>--plan-report</code> directories yet.</p>'
      : '<p>No plan report: start the dashboard with <code>--plan-report &lt;dir&gt;</code> (a directory written by <code>ccnodes plan simulate -o &lt;dir&gt;</code>, or a directory of them).</p>';
  const toc =
    reports.length > 1
      ? `<p>${reports.map((r) => `<a href="#report-${r.id}">${e(r.name)}</a>`).join(' · ')}</p>`
      : '';
  return (
    toc +
    reports
      .map((r) => {
        const k = `plan.${r.id}`;
        const s = r.summary;
        const cards = [
          card('Peak nodes', num(`${k}.peakNodes`, s.peakNodes)),
          card('Node-hours', num(`${k}.nodeHours`, s.nodeHours)),
          card(`Cost (${s.currency || '?'})`, num(`${k}.cost`, s.cost)),
          card('Most pending pods', num(`${k}.maxPending`, s.maxPending)),
          card('Events', num(`${k}.events`, s.events)),
        ].join('');
        const charts = r.charts
          .map(
            (c) =>
              `<figure><img class="plan-chart" src="/plan/${r.id}/${c}" alt="${e(CHART_TITLES[c] ?? c)}"></figure>`,
          )
          .join('');
        const params = Object.entries(r.parameters)
          .map(([a, b]) => `<tr><th>${e(a)}</th><td>${e(b)}</td></tr>`)
          .join('');
        const events = r.events
          .map(
            (x) =>
              `<tr><td class="num">${e(clockOf(x.t))}</td><td>${e(x.kind)}</td><td>${e(x.message)}</td></tr>`,
          )
          .join('');
        return `<section class="plan" id="report-${r.id}"><h2>${e(r.name)}</h2><section class="cards">${cards}</section>
<div class="charts">${charts || '<p class="na">No chart in this report.</p>'}</div>
${r.hasHtml ? `<p><a href="/plan/${r.id}/report.html">The report as written</a> <small>(served sandboxed: no script, its own origin)</small></p>` : ''}
<details><summary>Parameters</summary><table>${params}</table></details>
<details><summary>Events (<span data-k="${e(k)}.eventsShown">${r.events.length}</span> shown)</summary><table><thead><tr><th>Time</th><th>Kind</th><th>What</th></tr></thead><tbody>${events}</tbody></table></details></section>`;
      })
      .join('\n')
  );
}

/** The one stylesheet (served from /assets, so the policy can forbid inline styles). */
export const STYLESHEET = `
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232b;background:#f6f7f9}
body{margin:0}header{display:flex;gap:1.5rem;align-items:center;background:#1d2b4a;color:#fff;padding:.6rem 1.2rem}
.brand{font-weight:700;letter-spacing:.04em}nav a{color:#cfd8ea;text-decoration:none;margin-right:1rem}
nav a.current{color:#fff;border-bottom:2px solid #8fb3ff}.ro{margin-left:auto;font-size:.8rem;color:#9fb0d0}
main{padding:1rem 1.2rem}h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:1.6rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:.6rem 1rem;min-width:12rem}
.card-label{font-size:.8rem;color:#5b6575}.card-value{font-size:1.3rem;font-weight:600}
table{border-collapse:collapse;background:#fff;margin:.6rem 0;font-size:.85rem}th,td{border:1px solid #dde2ea;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#eef1f6}td.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#2b8a3e}.bad{color:#c92a2a;font-weight:600}.warn{color:#b35c00}
.na{color:#8a94a6}.tag{background:#fff3bf;border-radius:3px;padding:0 .3rem;font-size:.75rem}code{font-size:.8rem}
pre{background:#fff;border:1px solid #dde2ea;padding:.6rem;overflow:auto;max-width:60rem}pre.small{margin:0;max-height:12rem;font-size:.75rem}
.notice{background:#fff4e6;border:1px solid #ffc078;padding:.4rem .8rem;border-radius:4px}
figure{margin:1rem 0}.charts{display:flex;gap:1rem;flex-wrap:wrap}svg.chart{background:#fff;border:1px solid #dde2ea;border-radius:6px}
.chart-title{font-size:13px;font-weight:600}.axis,.legend{font-size:11px;fill:#5b6575}.chart-empty{font-size:12px;fill:#8a94a6}
.doctor{margin:.2rem 0;padding-left:1rem}img.plan-chart{background:#fff;border:1px solid #dde2ea;border-radius:6px;max-width:100%}.filters{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}.filters input,.filters select{font:inherit}
footer{padding:1rem 1.2rem;color:#5b6575;font-size:.8rem}
`;
