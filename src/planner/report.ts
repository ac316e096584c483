/**
 * The simulation report: four SVG charts (replicas, nodes, EPC requested vs allocatable, pending pods)
 * and a self-contained index.html (charts inlined, no script, no external request; a restrictive
 * content security policy in a meta tag).
 */
import type { SimulationResult } from './simulate.ts';
import { clock, escapeXml, lineChart, type ChartSeries } from './svg.ts';

export interface ReportFiles {
  readonly 'replicas.svg': string;
  readonly 'nodes.svg': string;
  readonly 'epc.svg': string;
  readonly 'pending.svg': string;
  readonly 'index.html': string;
}

export interface ReportContext {
  readonly title: string;
  /** Parameter name → value, shown in a table. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly currency: string;
  readonly priceNote: string;
}

export function reportCharts(
  r: SimulationResult,
): Pick<ReportFiles, 'replicas.svg' | 'nodes.svg' | 'epc.svg' | 'pending.svg'> {
  const s = r.samples;
  const workloads = s.length === 0 ? [] : Object.keys(s[0]?.workloads ?? {});
  const groups = s.length === 0 ? [] : Object.keys(s[0]?.nodes ?? {});
  const replicas: ChartSeries[] = workloads.flatMap((w) => [
    {
      name: `${w} desired`,
      points: s.map((x) => [x.t, x.workloads[w]?.desired ?? 0] as const),
      dashed: true,
    },
    { name: `${w} running`, points: s.map((x) => [x.t, x.workloads[w]?.running ?? 0] as const) },
  ]);
  const nodes: ChartSeries[] = [
    ...groups.map((g) => ({
      name: `${g} ready`,
      points: s.map((x) => [x.t, x.nodes[g]?.ready ?? 0] as const),
    })),
    ...groups.map((g) => ({
      name: `${g} provisioning`,
      points: s.map((x) => [x.t, x.nodes[g]?.provisioning ?? 0] as const),
      dashed: true,
    })),
  ];
  return {
    'replicas.svg': lineChart({
      title: 'Replicas (HPA desired vs running)',
      xLabel: 'time (m:ss)',
      yLabel: 'pods',
      series: replicas,
    }),
    'nodes.svg': lineChart({
      title: 'Nodes per group',
      xLabel: 'time (m:ss)',
      yLabel: 'nodes',
      series: nodes,
    }),
    'epc.svg': lineChart({
      title: 'EPC requested vs allocatable (Ready nodes)',
      xLabel: 'time (m:ss)',
      yLabel: 'EPC MiB',
      series: [
        { name: 'EPC requested', points: s.map((x) => [x.t, x.epcRequestedMiB] as const) },
        { name: 'EPC allocatable', points: s.map((x) => [x.t, x.epcAllocatableMiB] as const), dashed: true },
      ],
    }),
    'pending.svg': lineChart({
      title: 'Pending pods',
      xLabel: 'time (m:ss)',
      yLabel: 'pods',
      series: [{ name: 'pending', points: s.map((x) => [x.t, x.pendingPods] as const) }],
    }),
  };
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** All report files. */
export function buildReport(r: SimulationResult, ctx: ReportContext): ReportFiles {
  const charts = reportCharts(r);
  const strip = (svg: string): string => svg.replace(/^<\?xml[^>]*>\s*/, '');
  const rows = Object.entries(ctx.parameters)
    .map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`)
    .join('\n');
  const events = r.events
    .map(
      (e) =>
        `<tr><td>${escapeXml(clock(e.t))}</td><td>${escapeXml(e.kind)}</td><td>${escapeXml(e.message)}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeXml(ctx.title)}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; font-size: 13px; vertical-align: top; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.summary td { text-align: right; }
</style>
</head>
<body>
<h1>${escapeXml(ctx.title)}</h1>
<table class="summary">
<tr><th>peak nodes</th><td id="peak-nodes">${r.peakNodes}</td></tr>
<tr><th>node-hours</th><td id="node-hours">${r.nodeHours}</td></tr>
<tr><th>cost (${escapeXml(ctx.currency)})</th><td id="cost">${r.cost}</td></tr>
<tr><th>most pending pods</th><td id="max-pending">${r.maxPending}</td></tr>
</table>
<p>${escapeXml(ctx.priceNote)}</p>
<div class="charts">
${strip(charts['replicas.svg'])}
${strip(charts['nodes.svg'])}
${strip(charts['epc.svg'])}
${strip(charts['pending.svg'])}
</div>
<h2>Parameters</h2>
<table>
${rows}
</table>
<h2>Events</h2>
<table>
<tr><th>time</th><th>kind</th><th>what</th></tr>
${events}
</table>
</body>
</html>
`;
  return { ...charts, 'index.html': html };
}
