/** `ccnodes plan simulate`: reads the inputs, runs the planner's simulation, writes the report. */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  DEFAULT_AUTOSCALER,
  PlannerInputError,
  buildReport,
  parseDuration,
  parseLoadCsv,
  readHpa,
  simulate,
  type AutoscalerConfig,
  type HpaSpec,
  type NodeGroupConfig,
} from '../planner/index.ts';
import type { CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { readInputFile } from './io.ts';
import { loadInput, readYamlDocs, type SimulateFlags } from './plan-run.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function durationOf(v: unknown, field: string): number {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const d = parseDuration(s);
  if (d === undefined)
    throw new PlannerInputError(
      'ERR_PLAN_AUTOSCALER',
      `${field}: "${String(v)}" is not a duration (90, 90s, 10m, 1h)`,
      { field },
    );
  return d;
}

function numberOf(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new PlannerInputError('ERR_PLAN_AUTOSCALER', `${field}: expected a number`, { field });
  return v;
}

const KNOWN = new Set([
  'nodeGroups',
  'scaleDownDelayAfterAdd',
  'scaleDownUnneededTime',
  'scaleDownUtilizationThreshold',
  'maxNodesTotal',
  'nodeProvisionTime',
  'expander',
]);

/** The autoscaler config from the YAML file (if any), the flags and the SKU list. */
function autoscalerConfig(raw: unknown, flags: SimulateFlags, skus: readonly string[]): AutoscalerConfig {
  const o: Obj = raw === undefined ? {} : isObj(raw) ? raw : {};
  if (raw !== undefined && !isObj(raw))
    throw new PlannerInputError('ERR_PLAN_AUTOSCALER', '--autoscaler: expected a YAML mapping', {
      field: '',
    });
  for (const k of Object.keys(o))
    if (!KNOWN.has(k))
      throw new PlannerInputError('ERR_PLAN_AUTOSCALER', `--autoscaler: unknown setting "${k}"`, {
        field: k,
      });
  let groups: NodeGroupConfig[];
  if (o['nodeGroups'] !== undefined) {
    const list = o['nodeGroups'];
    if (!Array.isArray(list))
      throw new PlannerInputError('ERR_PLAN_AUTOSCALER', 'nodeGroups: expected a list', {
        field: 'nodeGroups',
      });
    groups = list.map((g: unknown, i) => {
      if (!isObj(g) || typeof g['sku'] !== 'string')
        throw new PlannerInputError('ERR_PLAN_AUTOSCALER', `nodeGroups[${i}].sku: expected a SKU name`, {
          field: `nodeGroups[${i}].sku`,
        });
      const sku = g['sku'].startsWith('Standard_') ? g['sku'] : `Standard_${g['sku']}`;
      const min = g['min'] === undefined ? 0 : numberOf(g['min'], `nodeGroups[${i}].min`);
      const max = g['max'] === undefined ? 100 : numberOf(g['max'], `nodeGroups[${i}].max`);
      const initial = g['initial'] === undefined ? min : numberOf(g['initial'], `nodeGroups[${i}].initial`);
      return { sku, min, max, initial };
    });
  } else groups = skus.map((sku) => ({ sku, min: 0, max: 100, initial: 0 }));
  const maxFlag = flags.maxNodes === undefined ? undefined : Number(flags.maxNodes);
  if (maxFlag !== undefined && !(Number.isInteger(maxFlag) && maxFlag >= 1))
    throw new UsageError('--max-nodes: expected a whole number >= 1', { option: '--max-nodes' });
  const expander = o['expander'] ?? DEFAULT_AUTOSCALER.expander;
  if (expander !== 'least-waste' && expander !== 'price')
    throw new PlannerInputError('ERR_PLAN_AUTOSCALER', 'expander: least-waste or price', {
      field: 'expander',
    });
  return {
    nodeGroups: groups,
    scaleDownDelayAfterAdd:
      flags.scaleDownDelay !== undefined
        ? durationOf(flags.scaleDownDelay, '--scale-down-delay')
        : o['scaleDownDelayAfterAdd'] !== undefined
          ? durationOf(o['scaleDownDelayAfterAdd'], 'scaleDownDelayAfterAdd')
          : DEFAULT_AUTOSCALER.scaleDownDelayAfterAdd,
    scaleDownUnneededTime:
      flags.unneededTime !== undefined
        ? durationOf(flags.unneededTime, '--unneeded-time')
        : o['scaleDownUnneededTime'] !== undefined
          ? durationOf(o['scaleDownUnneededTime'], 'scaleDownUnneededTime')
          : DEFAULT_AUTOSCALER.scaleDownUnneededTime,
    scaleDownUtilizationThreshold:
      o['scaleDownUtilizationThreshold'] !== undefined
        ? numberOf(o['scaleDownUtilizationThreshold'], 'scaleDownUtilizationThreshold')
        : DEFAULT_AUTOSCALER.scaleDownUtilizationThreshold,
    maxNodesTotal:
      maxFlag ??
      (o['maxNodesTotal'] !== undefined
        ? numberOf(o['maxNodesTotal'], 'maxNodesTotal')
        : DEFAULT_AUTOSCALER.maxNodesTotal),
    nodeProvisionSeconds:
      o['nodeProvisionTime'] !== undefined
        ? durationOf(o['nodeProvisionTime'], 'nodeProvisionTime')
        : DEFAULT_AUTOSCALER.nodeProvisionSeconds,
    expander,
  };
}

const isHpa = (d: unknown): boolean => isObj(d) && d['kind'] === 'HorizontalPodAutoscaler';

/** Runs `plan simulate` (planner input errors propagate to the caller). */
export async function runSimulation(flags: SimulateFlags, ctx: CliContext): Promise<void> {
  if (flags.load === undefined)
    throw new UsageError('--load: a load profile CSV is required', { option: '--load' });
  if (flags.output === undefined)
    throw new UsageError('-o/--output: a report directory is required', { option: '--output' });
  const step = flags.step === undefined ? 15 : parseDuration(flags.step);
  if (step === undefined || step <= 0)
    throw new UsageError('--step: expected a duration > 0 (15, 15s, 1m)', { option: '--step' });
  const input = await loadInput(flags, ctx);
  const hpas: HpaSpec[] = [];
  for (const { source, docs } of input.docs)
    for (const d of docs) if (isHpa(d)) hpas.push(readHpa(d, source));
  for (const file of flags.hpa ?? []) {
    for (const d of await readYamlDocs(ctx, file, '--hpa', true)) {
      if (d === null || d === undefined) continue;
      hpas.push(readHpa(d, file));
    }
  }
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(ctx.cwd, p));
  const csv = (await readInputFile(abs(flags.load))).toString('utf8');
  const load = parseLoadCsv(csv, flags.load);
  const rawCa =
    flags.autoscaler === undefined
      ? undefined
      : (await readYamlDocs(ctx, flags.autoscaler, '--autoscaler'))[0];
  const autoscaler = autoscalerConfig(
    rawCa,
    flags,
    input.shapes.map((s) => s.sku.name),
  );
  const result = simulate({
    groups: input.groups,
    shapes: input.shapes,
    hpas,
    load,
    autoscaler,
    stepSeconds: step,
  });
  const parameters: Record<string, string> = {
    workloads: (flags.workload ?? []).join(', '),
    load: flags.load,
    step: `${step}s`,
    HPAs:
      hpas
        .map(
          (h) =>
            `${h.name} → ${h.targetName} (${h.minReplicas}–${h.maxReplicas}, ${h.metric.name} ${h.metric.type} ${h.metric.target})`,
        )
        .join('; ') || 'none',
    'node groups': autoscaler.nodeGroups
      .map((g) => `${g.sku} min ${g.min} max ${g.max} initial ${g.initial}`)
      .join('; '),
    'scale-down-delay-after-add': `${autoscaler.scaleDownDelayAfterAdd}s`,
    'scale-down-unneeded-time': `${autoscaler.scaleDownUnneededTime}s`,
    'scale-down-utilization-threshold': String(autoscaler.scaleDownUtilizationThreshold),
    'max-nodes-total': String(autoscaler.maxNodesTotal),
    'node provision time': `${autoscaler.nodeProvisionSeconds}s`,
    expander: autoscaler.expander,
  };
  const files = buildReport(result, {
    title: 'ccnodes plan simulate',
    parameters,
    currency: input.table.currency,
    priceNote: `Prices: ${input.table.priceSource} (${input.table.priceRegion}, ${input.table.priceDate}).`,
  });
  const dir = abs(flags.output);
  const summary = {
    ok: true,
    output: dir,
    files: [...Object.keys(files), 'report.json'].sort(),
    peakNodes: result.peakNodes,
    nodeHours: result.nodeHours,
    cost: result.cost,
    currency: input.table.currency,
    maxPending: result.maxPending,
    events: result.events.length,
  };
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(files) as [string, string][])
      await writeFile(join(dir, name), text);
    await writeFile(
      join(dir, 'report.json'),
      `${JSON.stringify({ parameters, autoscaler, summary: { ...summary, output: undefined }, samples: result.samples, events: result.events }, null, 2)}\n`,
    );
  } catch (cause) {
    throw new IoError(
      `cannot write the report to ${flags.output}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        details: { path: flags.output },
        cause,
      },
    );
  }
  if (flags.json === true) ctx.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else
    ctx.stdout(
      `Report written to ${dir} (${summary.files.join(', ')})\npeak nodes ${result.peakNodes}, node-hours ${result.nodeHours}, cost ${result.cost} ${input.table.currency}, most pending pods ${result.maxPending}, ${result.events.length} events\n`,
    );
}
