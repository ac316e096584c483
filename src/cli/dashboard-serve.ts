/** `ccnodes dashboard serve`: wires the dashboard's sources from flags, listens, waits for SIGTERM/SIGINT. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  attestationApiSource,
  createDashboard,
  isLoopback,
  kubeApiSource,
  type DashboardConfig,
  type KubeSource,
  type MetricsTarget,
} from '../dashboard/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { UsageError } from './errors.ts';
import { readInputFile } from './io.ts';
import { loadKubeConfig } from './kubeconfig.ts';

export interface DashboardServeFlags {
  listen: string;
  kubeconfig?: string;
  attestationUrl?: string;
  adminTokenFile?: string;
  metrics?: string[];
  collateralUrl?: string;
  fmspc?: string[];
  planReport?: string[];
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp: boolean;
  requireToken: boolean;
  sampleInterval: string;
  json: boolean;
}

/** `host:port`, `[v6]:port`. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`--listen: expected <host:port>, e.g. 127.0.0.1:8080, got "${text}"`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function httpUrl(text: string, flag: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`${flag}: not a URL: "${text}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`${flag}: expected an http(s) URL, got "${text}"`);
  if (u.username !== '' || u.password !== '')
    throw new UsageError(`${flag}: credentials in the URL are not accepted`);
  return text;
}

/** `[node=]http(s)://…` or `[node=]unix:/path[:/path]`. */
export function parseMetricsTarget(text: string): MetricsTarget {
  const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)=(.+)$/.exec(text);
  const target = m !== null && /^(https?:|unix:)/.test(m[3] ?? '') ? (m[3] ?? '') : text;
  const node = target === text ? undefined : (m?.[1] ?? undefined);
  if (target.startsWith('unix:')) {
    if (target.length <= 'unix:'.length) throw new UsageError(`--metrics: no socket path in "${text}"`);
  } else httpUrl(target, '--metrics');
  return node === undefined ? { target } : { target, node };
}

async function readToken(file: string, ctx: CliContext): Promise<string> {
  const token = (await readInputFile(resolve(ctx.cwd, file))).toString('utf8').trim();
  if (token.length < 16)
    throw new UsageError(`--admin-token-file ${file}: the token must be at least 16 characters`);
  return token;
}

export async function runDashboardServe(flags: DashboardServeFlags, ctx: CliContext): Promise<void> {
  const { host, port } = parseListen(flags.listen);
  const interval = Number(flags.sampleInterval);
  if (!/^\d+$/.test(flags.sampleInterval) || interval > 86_400)
    throw new UsageError(
      `--sample-interval: expected whole seconds (0–86400), got "${flags.sampleInterval}"`,
    );
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  const adminToken =
    flags.adminTokenFile === undefined ? undefined : await readToken(flags.adminTokenFile, ctx);
  if (flags.requireToken && adminToken === undefined)
    throw new UsageError('--require-token needs --admin-token-file');
  let kube: KubeSource | undefined;
  if (flags.kubeconfig !== undefined || ctx.env['KUBERNETES_SERVICE_HOST'] !== undefined)
    kube = await kubeApiSource(await loadKubeConfig(flags.kubeconfig, ctx));
  const tls =
    flags.tlsCert === undefined || flags.tlsKey === undefined
      ? undefined
      : {
          cert: (await readInputFile(resolve(ctx.cwd, flags.tlsCert))).toString('utf8'),
          key: (await readInputFile(resolve(ctx.cwd, flags.tlsKey))).toString('utf8'),
        };
  for (const f of flags.fmspc ?? [])
    if (!/^[0-9a-fA-F]{12}$/.test(f)) throw new UsageError(`--fmspc: expected 12 hex digits, got "${f}"`);
  const planReports: { dir: string }[] = [];
  for (const d of flags.planReport ?? []) {
    const dir = resolve(ctx.cwd, d);
    let isDir = false;
    try {
      isDir = (await stat(dir)).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new UsageError(`--plan-report ${d}: not a directory`, { option: '--plan-report' });
    planReports.push({ dir });
  }
  const config: DashboardConfig = {
    ...(kube === undefined ? {} : { kube }),
    ...(flags.attestationUrl === undefined
      ? {}
      : {
          attestation: attestationApiSource({
            url: httpUrl(flags.attestationUrl, '--attestation-url'),
            ...(adminToken === undefined ? {} : { adminToken }),
          }),
        }),
    metrics: (flags.metrics ?? []).map(parseMetricsTarget),
    // In a cluster without --metrics: the agents' endpoints come from the pod list.
    discoverMetrics: kube !== undefined && (flags.metrics ?? []).length === 0,
    ...(flags.collateralUrl === undefined
      ? {}
      : { collateral: { url: httpUrl(flags.collateralUrl, '--collateral-url'), fmspcs: flags.fmspc ?? [] } }),
    ...(adminToken !== undefined && (flags.requireToken || !isLoopback(host))
      ? { accessToken: adminToken }
      : {}),
    ...(tls === undefined ? {} : { tls }),
    sampleIntervalMs: interval * 1000,
    ...(planReports.length === 0 ? {} : { planReports }),
  };
  const dashboard = createDashboard(config);
  let url: string;
  try {
    url = await dashboard.listen(host, port, { allowInsecureHttp: flags.insecureHttp });
  } catch (err) {
    await dashboard.close();
    if (isCcnodesError(err) && err.code === 'ERR_DASHBOARD_CONFIG')
      throw new UsageError(err.message, { cause: err.code });
    throw err;
  }
  if (flags.json) ctx.stdout(`${JSON.stringify({ url })}\n`);
  else ctx.stdout(`ccnodes dashboard: serving on ${url} (read-only)\n`);
  await untilAborted(ctx.signal);
  await dashboard.close();
  if (!flags.json) ctx.stdout('ccnodes dashboard: stopped\n');
}
