/** Implementation of `plan.ts`'s commands, loaded only when one of them runs. */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_SKU_TABLE,
  PlannerInputError,
  cheapestMix,
  formatBytes,
  formatMilli,
  readWorkloads,
  selectSkus,
  skuShapes,
  totals,
  validateSkuTable,
  type Plan,
  type PodGroup,
  type SkuShape,
  type SkuTable,
} from '../planner/index.ts';
import { RESOURCE_EPC_MIB } from '../contract/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { UsageError } from './errors.ts';
import { readInputFile } from './io.ts';

export interface CommonFlags {
  readonly workload?: string[];
  readonly sku?: string;
  readonly skuTable?: string;
  readonly daemonset?: string[];
  readonly systemDaemonsets: boolean;
  readonly webhook: boolean;
  readonly poolTaint: boolean;
  readonly json?: boolean;
}

export interface PlanFlags extends CommonFlags {
  readonly maxNodes?: string;
}

export interface SimulateFlags extends CommonFlags {
  readonly load?: string;
  readonly hpa?: string[];
  readonly autoscaler?: string;
  readonly scaleDownDelay?: string;
  readonly unneededTime?: string;
  readonly maxNodes?: string;
  readonly step?: string;
  readonly output?: string;
}

/** The system DaemonSets ccnodes deploys on every confidential node (their requests are reserved). */
export const SYSTEM_DAEMONSET_FILES = [
  '05-daemonset-ccnodes-device-plugin.yaml',
  '07-daemonset-ccnodes-quote-helper.yaml',
] as const;

function manifestsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'manifests');
}

function abs(ctx: CliContext, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

/** Line and column (from 1) of a UTF-16 offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/**
 * True when an object of the (valid) JSON `text` repeats a key. JSON.parse keeps the last value
 * silently; the YAML path refuses a duplicate key, so such a file is handed to it for its error.
 */
function hasDuplicateKey(text: string): boolean {
  const stack: (Set<string> | undefined)[] = []; // a key set per open object, undefined per array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; ; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      if (expectKey) {
        const raw = text.slice(i + 1, j);
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        const keys = stack[stack.length - 1];
        if (keys !== undefined) {
          if (keys.has(key)) return true;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) stack.push(undefined);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) expectKey = stack[stack.length - 1] !== undefined;
  }
  return false;
}

/**
 * A JSON file's documents, or undefined when the YAML parser is to decide (the text is not JSON, or
 * repeats a key). A top-level array is several documents when `arrays` is set.
 */
function jsonDocs(text: string, arrays: boolean): { docs?: unknown[]; error?: SyntaxError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return err instanceof SyntaxError ? { error: err } : {};
  }
  if (hasDuplicateKey(text)) return {};
  return { docs: arrays && Array.isArray(value) ? (value as unknown[]) : [value] };
}

/**
 * Parses every document of a YAML or JSON file; parse errors are usage errors naming the file (and
 * the line and column). A file named `*.json` or whose text starts with `{` or `[` is first read with
 * JSON.parse (about 100 times faster than the YAML parser on a large file), giving what the YAML
 * parser would; when that fails the YAML parser reads it, and if that fails too, a `*.json` file
 * reports JSON.parse's error. `arrays`: a top-level JSON array is a list of documents.
 */
export async function readYamlDocs(
  ctx: CliContext,
  path: string,
  option: string,
  arrays = false,
): Promise<unknown[]> {
  const raw = (await readInputFile(abs(ctx, path))).toString('utf8');
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const isJsonName = path.toLowerCase().endsWith('.json');
  let jsonError: SyntaxError | undefined;
  if (isJsonName || /^\s*[{[]/.test(text)) {
    const r = jsonDocs(text, arrays);
    if (r.docs !== undefined) return r.docs;
    if (isJsonName) jsonError = r.error;
  }
  const docs = parseAllDocuments(raw); // as before the JSON path existed (the parser skips a BOM)
  const list = Array.isArray(docs) ? docs : [docs];
  return list.map((d, i) => {
    if (d.errors.length > 0) {
      if (jsonError !== undefined) {
        // V8 names the offset of most errors ("… in JSON at position 13", also for a cut-off text),
        // but only a snippet for an unexpected token: then the YAML parser's position is used.
        const m = /at position (\d+)/.exec(jsonError.message);
        const yamlAt = d.errors[0]?.linePos?.[0];
        const at =
          m !== null
            ? lineColumn(text, Number(m[1]))
            : /end of JSON input/.test(jsonError.message) || yamlAt === undefined
              ? lineColumn(text, text.length)
              : { line: yamlAt.line, column: yamlAt.col };
        const what = jsonError.message
          .replace(/ (in JSON )?at position \d+.*$/s, '')
          .replace(/^(Unexpected token '.+?'), .*is not valid JSON$/s, '$1');
        throw new UsageError(`${option} ${path}: line ${at.line}, column ${at.column}: ${what} (JSON)`, {
          option,
          line: at.line,
          column: at.column,
        });
      }
      throw new UsageError(`${option} ${path}: document ${i + 1}: ${d.errors[0]?.message ?? 'YAML error'}`, {
        option,
      });
    }
    return d.toJS() as unknown;
  });
}

function positiveInt(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${option}: expected a whole number >= 1`, { option });
  return Number(text);
}

/** Planner input errors exit 2 with their own code (printed as `runCli` prints errors). */
export function reportInputError(err: unknown, ctx: CliContext, json: boolean | undefined): boolean {
  if (!(err instanceof PlannerInputError)) return false;
  ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
  if (json === true)
    ctx.stdout(
      `${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } }, null, 2)}\n`,
    );
  ctx.exitCode = EXIT.USAGE;
  return true;
}

export interface LoadedInput {
  readonly table: SkuTable;
  readonly shapes: SkuShape[];
  readonly groups: PodGroup[];
  readonly docs: { readonly source: string; readonly docs: unknown[] }[];
}

/** Reads the SKU table, the workloads and the DaemonSets named by the flags. */
export async function loadInput(flags: CommonFlags, ctx: CliContext): Promise<LoadedInput> {
  if (flags.workload === undefined || flags.workload.length === 0)
    throw new UsageError('--workload: at least one workload file is required', { option: '--workload' });
  let table = DEFAULT_SKU_TABLE;
  if (flags.skuTable !== undefined) {
    const docs = await readYamlDocs(ctx, flags.skuTable, '--sku-table');
    table = validateSkuTable(docs[0]);
  }
  const names = flags.sku
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const skus = selectSkus(table, names === undefined || names.length === 0 ? undefined : names);
  const shapes = skuShapes(skus, { taint: flags.poolTaint });
  const options = { webhook: flags.webhook };
  const groups: PodGroup[] = [];
  const docs: LoadedInput['docs'] = [];
  for (const file of flags.workload) {
    const d = await readYamlDocs(ctx, file, '--workload', true);
    docs.push({ source: file, docs: d });
    const workloads = d.filter(
      (x) =>
        !(
          typeof x === 'object' &&
          x !== null &&
          (x as { kind?: unknown }).kind === 'HorizontalPodAutoscaler'
        ),
    );
    groups.push(...readWorkloads(workloads, file, options));
  }
  const dsFiles = [
    ...(flags.systemDaemonsets ? SYSTEM_DAEMONSET_FILES.map((f) => join(manifestsDir(), f)) : []),
    ...(flags.daemonset ?? []),
  ];
  for (const file of dsFiles) {
    if (!existsSync(abs(ctx, file)) && flags.daemonset?.includes(file) !== true) continue;
    const d = await readYamlDocs(ctx, file, '--daemonset', true);
    for (const g of readWorkloads(d, file, options)) {
      if (!g.daemon)
        throw new UsageError(`--daemonset ${file}: ${g.id} is not a DaemonSet`, { option: '--daemonset' });
      groups.push(g);
    }
  }
  return { table, shapes, groups, docs };
}

function planJson(plan: Plan, withNodes: boolean): Record<string, unknown> {
  const cpu = totals(plan.nodes, 'cpu');
  const mem = totals(plan.nodes, 'memory');
  const epc = totals(plan.nodes, RESOURCE_EPC_MIB);
  const pods = {
    requested: plan.nodes.reduce((s, n) => s + n.pods, 0),
    allocatable: totals(plan.nodes, 'pods').allocatable,
  };
  return {
    strategy: plan.strategy,
    nodes: plan.nodes.length,
    countBySku: plan.countBySku,
    costPerHour: plan.costPerHour,
    placedPods: plan.placedPods,
    unschedulablePods: plan.unschedulable.reduce((s, u) => s + u.count, 0),
    hitMaxNodes: plan.hitMaxNodes,
    totals: { cpuMilli: cpu, memoryBytes: mem, epcMiB: epc, pods },
    unschedulable: plan.unschedulable,
    ...(withNodes
      ? {
          nodeList: plan.nodes.map((n, i) => ({
            name: `${n.sku}-${i}`,
            sku: n.sku,
            pods: n.pods,
            requested: {
              cpuMilli: n.used['cpu'] ?? 0,
              memoryBytes: n.used['memory'] ?? 0,
              epcMiB: n.used[RESOURCE_EPC_MIB] ?? 0,
            },
            groups: Object.fromEntries(n.groups),
          })),
        }
      : {}),
  };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function usage(t: { requested: number; allocatable: number }, fmt: (n: number) => string): string {
  return `${fmt(t.requested)}/${fmt(t.allocatable)}`;
}

function planRow(p: Plan, label: string, currency: string): string {
  const cpu = usage(totals(p.nodes, 'cpu'), formatMilli);
  const mem = usage(totals(p.nodes, 'memory'), formatBytes);
  const epc = usage(totals(p.nodes, RESOURCE_EPC_MIB), String);
  const un = p.unschedulable.reduce((s, u) => s + u.count, 0);
  return [
    pad(label, 22),
    pad(String(p.nodes.length), 6, true),
    pad(`${p.costPerHour.toFixed(3)} ${currency}`, 13, true),
    pad(cpu, 18, true),
    pad(mem, 20, true),
    pad(epc, 16, true),
    pad(String(un), 6, true),
  ].join('  ');
}

function mixLabel(p: Plan): string {
  return Object.entries(p.countBySku)
    .map(([s, n]) => `${n} × ${s}`)
    .join(' + ');
}

/** `ccnodes plan`. */
export async function runPlan(flags: PlanFlags, ctx: CliContext): Promise<void> {
  try {
    const maxNodes = positiveInt(flags.maxNodes, '--max-nodes');
    const input = await loadInput(flags, ctx);
    const pods = input.groups.filter((g) => !g.daemon);
    const daemons = input.groups.filter((g) => g.daemon);
    const result = cheapestMix(input.groups, input.shapes, maxNodes === undefined ? {} : { maxNodes });
    const unschedulable = result.best.unschedulable.reduce((s, u) => s + u.count, 0);
    if (flags.json === true) {
      ctx.stdout(
        `${JSON.stringify(
          {
            ok: unschedulable === 0,
            skuTable: {
              currency: input.table.currency,
              priceRegion: input.table.priceRegion,
              priceDate: input.table.priceDate,
              priceSource: input.table.priceSource,
              sources: input.table.sources,
            },
            workloads: pods.map((g) => ({
              id: g.id,
              replicas: g.replicas,
              requests: g.requests,
              epcMiB: g.epcMiB,
            })),
            daemonSets: daemons.map((g) => ({ id: g.id, requests: g.requests })),
            skus: input.shapes.map((s) => ({
              name: s.sku.name,
              pricePerHour: s.sku.pricePerHour,
              allocatable: s.shape.allocatable,
            })),
            perSku: result.single.map((p, i) => ({ sku: input.shapes[i]?.sku.name, ...planJson(p, false) })),
            cheapestMix: planJson(result.mix, false),
            best: planJson(result.best, true),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const cur = input.table.currency;
      const podCount = pods.reduce((s, g) => s + g.replicas, 0);
      const out: string[] = [];
      out.push(
        `Workloads: ${pods.length} groups, ${podCount} pods; per-node DaemonSets: ${daemons.map((d) => d.name).join(', ') || 'none'}`,
      );
      out.push('');
      out.push(
        [
          pad('plan', 22),
          pad('nodes', 6, true),
          pad('cost/hour', 13, true),
          pad('cpu req/alloc', 18, true),
          pad('memory req/alloc', 20, true),
          pad('EPC MiB req/alloc', 16, true),
          pad('unsched', 6, true),
        ].join('  '),
      );
      result.single.forEach((p, i) => out.push(planRow(p, input.shapes[i]?.sku.name ?? '?', cur)));
      out.push(planRow(result.mix, 'cheapest mix', cur));
      out.push('');
      out.push(
        `Cheapest: ${mixLabel(result.best) || 'no nodes'} = ${result.best.costPerHour.toFixed(3)} ${cur}/hour (${result.best.strategy})`,
      );
      if (result.best.hitMaxNodes)
        out.push(`The node limit (--max-nodes ${maxNodes ?? ''}) stopped the plan.`);
      if (result.best.unschedulable.length > 0) {
        out.push('Unschedulable pods:');
        for (const u of result.best.unschedulable) {
          out.push(`  ${u.group} ×${u.count}: ${u.message}`);
          for (const [sku, why] of Object.entries(u.onEmptyNode))
            if (why !== 'fits') out.push(`    on an empty ${sku}: ${why}`);
        }
      }
      out.push(`Prices: ${input.table.priceSource} (${input.table.priceRegion}, ${input.table.priceDate}).`);
      ctx.stdout(`${out.join('\n')}\n`);
    }
    if (unschedulable > 0) ctx.exitCode = EXIT.CHECK_FAILED;
  } catch (err) {
    if (!reportInputError(err, ctx, flags.json)) throw err;
  }
}

/** `ccnodes plan simulate`. */
export async function runSimulate(flags: SimulateFlags, ctx: CliContext): Promise<void> {
  const { runSimulation } = await import('./plan-simulate-run.ts');
  try {
    await runSimulation(flags, ctx);
  } catch (err) {
    if (!reportInputError(err, ctx, flags.json)) throw err;
  }
}
