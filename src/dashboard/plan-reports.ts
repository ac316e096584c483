/**
 * `ccnodes plan simulate` reports on the dashboard. A report directory holds `report.json` (summary,
 * parameters, events), four SVG charts and the report's own `index.html`. The Plan page is rendered
 * by the dashboard from `report.json` (escaped like every page) with the charts as `<img>` — an SVG
 * loaded as an image never runs script — and the original HTML is served only as a sandboxed
 * document (`Content-Security-Policy: sandbox`, no script, an opaque origin), so nothing a report
 * contains can run in the dashboard's origin. Files are read when a page asks (a report written
 * later shows up), with size bounds, by fixed names only (no path from the request reaches the disk).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DashboardSourceError } from './errors.ts';

/** What `--plan-report` names: one report directory, or a directory of report directories. */
export interface PlanReportSource {
  readonly dir: string;
  /** Shown as the report's title (default: the directory's name). */
  readonly name?: string;
}

/** The chart files a report has, in page order. */
export const PLAN_CHARTS = ['replicas.svg', 'nodes.svg', 'epc.svg', 'pending.svg'] as const;
export type PlanChart = (typeof PLAN_CHARTS)[number];

/** One report as the Plan page and `/api/plan` show it. */
export interface PlanReport {
  /** Position in the list: the URL segment of its files (`/plan/<id>/epc.svg`). */
  readonly id: number;
  readonly name: string;
  readonly summary: {
    readonly peakNodes: number;
    readonly nodeHours: number;
    readonly cost: number;
    readonly currency: string;
    readonly maxPending: number;
    readonly events: number;
  };
  readonly parameters: Readonly<Record<string, string>>;
  /** The first {@link MAX_PLAN_EVENTS} events: seconds from the start, kind, message. */
  readonly events: readonly { readonly t: number; readonly kind: string; readonly message: string }[];
  readonly charts: readonly PlanChart[];
  readonly hasHtml: boolean;
}

export const MAX_PLAN_REPORTS = 50;
export const MAX_PLAN_EVENTS = 500;
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

const bad = (dir: string, field: string, what: string): DashboardSourceError =>
  new DashboardSourceError(`plan report ${dir}: ${field} ${what}`, { source: 'plan-report', dir, field });

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The report directories `sources` name, in order (a directory without report.json: its sub-directories that have one). */
export async function listPlanReportDirs(
  sources: readonly PlanReportSource[],
): Promise<{ dir: string; name: string }[]> {
  const out: { dir: string; name: string }[] = [];
  for (const s of sources) {
    if (await isFile(join(s.dir, 'report.json'))) {
      out.push({ dir: s.dir, name: s.name ?? basename(s.dir) });
      continue;
    }
    let entries: string[];
    try {
      entries = (await readdir(s.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (cause) {
      throw new DashboardSourceError(
        `plan report ${s.dir}: cannot read the directory: ${cause instanceof Error ? cause.message : String(cause)}`,
        { source: 'plan-report', dir: s.dir },
        cause,
      );
    }
    for (const e of entries)
      if (await isFile(join(s.dir, e, 'report.json')))
        out.push({ dir: join(s.dir, e), name: s.name === undefined ? e : `${s.name}/${e}` });
  }
  return out.slice(0, MAX_PLAN_REPORTS);
}

async function readBounded(path: string, max: number, dir: string, field: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw bad(dir, field, 'is missing');
  }
  if (size > max) throw bad(dir, field, `is larger than ${max} bytes`);
  const data = await readFile(path);
  if (data.length > max) throw bad(dir, field, `is larger than ${max} bytes`);
  return data;
}

function num(o: Record<string, unknown>, k: string, dir: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(dir, `summary.${k}`, 'is not a number');
  return v;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks one report directory. */
export async function readPlanReport(id: number, dir: string, name: string): Promise<PlanReport> {
  let doc: unknown;
  try {
    doc = JSON.parse(
      (await readBounded(join(dir, 'report.json'), MAX_JSON_BYTES, dir, 'report.json')).toString('utf8'),
    );
  } catch (err) {
    if (err instanceof DashboardSourceError) throw err;
    throw bad(dir, 'report.json', 'is not JSON');
  }
  if (!isObj(doc)) throw bad(dir, 'report.json', 'is not an object');
  const summary = doc['summary'];
  if (!isObj(summary)) throw bad(dir, 'summary', 'is missing');
  const currency = summary['currency'];
  const parameters: Record<string, string> = {};
  const p = doc['parameters'];
  if (p !== undefined && !isObj(p)) throw bad(dir, 'parameters', 'is not an object');
  for (const [k, v] of Object.entries(p ?? {})) {
    if (typeof v !== 'string') throw bad(dir, `parameters.${k}`, 'is not a string');
    parameters[k] = v;
  }
  const ev = doc['events'];
  if (ev !== undefined && !Array.isArray(ev)) throw bad(dir, 'events', 'is not an array');
  const events = ((ev ?? []) as unknown[]).slice(0, MAX_PLAN_EVENTS).map((e, i) => {
    if (
      !isObj(e) ||
      typeof e['t'] !== 'number' ||
      typeof e['kind'] !== 'string' ||
      typeof e['message'] !== 'string'
    )
      throw bad(dir, `events[${i}]`, 'is not {t, kind, message}');
    return { t: e['t'], kind: e['kind'], message: e['message'] };
  });
  const charts: PlanChart[] = [];
  for (const c of PLAN_CHARTS) if (await isFile(join(dir, c))) charts.push(c);
  return {
    id,
    name,
    summary: {
      peakNodes: num(summary, 'peakNodes', dir),
      nodeHours: num(summary, 'nodeHours', dir),
      cost: num(summary, 'cost', dir),
      currency: typeof currency === 'string' ? currency : '',
      maxPending: num(summary, 'maxPending', dir),
      events: num(summary, 'events', dir),
    },
    parameters,
    events,
    charts,
    hasHtml: await isFile(join(dir, 'index.html')),
  };
}

/**
 * Constructs that could make an SVG active if it were ever opened as a document: script, event
 * handlers, links and embedded documents, entity declarations. The planner writes none of them;
 * a chart that has one is refused rather than cleaned.
 */
const ACTIVE_SVG =
  /<\s*(script|foreignObject|iframe|object|embed|a|use|image|animate|set|handler|listener)\b|\bon[a-z]+\s*=|\b(xlink:)?href\s*=|<!ENTITY|<!DOCTYPE|javascript:/i;

/** A chart's text when it is a passive SVG; refuses anything else. */
export async function readPlanChart(dir: string, chart: PlanChart): Promise<string> {
  const text = (await readBounded(join(dir, chart), MAX_FILE_BYTES, dir, chart)).toString('utf8');
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<svg[\s>]/.test(text) || !/<\/svg>\s*$/.test(text))
    throw bad(dir, chart, 'is not an SVG document');
  const m = ACTIVE_SVG.exec(text);
  if (m !== null) throw bad(dir, chart, `has active content (${m[0].slice(0, 20)}), refused`);
  return text;
}

/** The report's own index.html (served sandboxed). */
export async function readPlanHtml(dir: string): Promise<Buffer> {
  return readBounded(join(dir, 'index.html'), MAX_FILE_BYTES, dir, 'index.html');
}

/** The policy of a served chart or report file: a sandboxed, script-less document wherever it is opened. */
export const PLAN_FILE_CSP = [
  'sandbox',
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "script-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
