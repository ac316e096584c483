/**
 * `ccnodes kube webhook|mutate|label-node`: the admission webhook server, a dry run of what the
 * webhook does to a pod, and the node labeller (node doctor labels → the Node object).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { QUOTING_MODES, TAINT_CONFIDENTIAL, type QuotingMode } from '../contract/index.ts';
import type * as KubeModule from '../kube/index.ts';
import type { TolerationSpec, WebhookConfig } from '../kube/index.ts';
import { untilAborted, EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { areaCommand } from './index.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { readInputFile } from './io.ts';

type Kube = typeof KubeModule;

async function kube(): Promise<Kube> {
  return await import('../kube/index.ts');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`${flag}: expected <host:port>, e.g. 0.0.0.0:8443, got "${text}"`);
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? '0.0.0.0')), port };
}

function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0)
    throw new UsageError(`${flag}: expected a positive integer, got "${text}"`);
  return Number(text);
}

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** `key=value:Effect` or `key:Effect` (Exists). */
function parseToleration(text: string): TolerationSpec {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (m === null)
    throw new UsageError(
      `--toleration: expected key=value:Effect or key:Effect (Effect one of ${EFFECTS.join(', ')}), got "${text}"`,
    );
  const effect = m[3] as TolerationSpec['effect'] & string;
  const key = m[1] ?? '';
  return m[2] === undefined
    ? { key, operator: 'Exists', effect }
    : { key, operator: 'Equal', value: m[2], effect };
}

interface WebhookConfigFlags {
  defaultQuoting: string;
  affinity: string;
  excludeNamespace?: string[];
  toleration?: string[];
  poolLabel: string;
}

function webhookConfigFrom(flags: WebhookConfigFlags): WebhookConfig {
  if (!(QUOTING_MODES as readonly string[]).includes(flags.defaultQuoting))
    throw new UsageError(
      `--default-quoting: expected one of ${QUOTING_MODES.join(', ')}, got "${flags.defaultQuoting}"`,
    );
  if (!['required', 'preferred', 'none'].includes(flags.affinity))
    throw new UsageError(`--affinity: expected required, preferred or none, got "${flags.affinity}"`);
  const pool = /^([^=]+)=(.+)$/.exec(flags.poolLabel);
  if (pool === null) throw new UsageError(`--pool-label: expected key=value, got "${flags.poolLabel}"`);
  return {
    excludedNamespaces: flags.excludeNamespace ?? ['kube-system'],
    defaultQuoting: flags.defaultQuoting as QuotingMode,
    affinity: flags.affinity as WebhookConfig['affinity'],
    tolerations: (
      flags.toleration ?? [
        `${TAINT_CONFIDENTIAL.key}=${TAINT_CONFIDENTIAL.value}:${TAINT_CONFIDENTIAL.effect}`,
      ]
    ).map(parseToleration),
    poolLabel: { key: pool[1] ?? '', values: (pool[2] ?? '').split(',') },
  };
}

function addWebhookConfigOptions(cmd: Command): Command {
  return cmd
    .option(
      '--default-quoting <mode>',
      `quoting for SGX pods without an annotation: ${QUOTING_MODES.join(' | ')}`,
      'out-of-process',
    )
    .option(
      '--affinity <mode>',
      'node affinity of SGX pods to confidential pools: required | preferred | none',
      'required',
    )
    .option('--exclude-namespace <ns>', 'namespace never touched (repeatable; default kube-system)', collect)
    .option(
      '--toleration <key=value:Effect>',
      `toleration added to SGX pods (repeatable; default ${TAINT_CONFIDENTIAL.key}=${TAINT_CONFIDENTIAL.value}:${TAINT_CONFIDENTIAL.effect})`,
      collect,
    )
    .option(
      '--pool-label <key=values>',
      'node label of confidential pools (values comma-separated)',
      'ccnodes.io/pool=confidential',
    );
}

interface WebhookFlags extends WebhookConfigFlags {
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  selfSigned?: string;
  dnsName?: string[];
  largestNodeEpcMib?: string;
  discoverNodes: boolean;
  kubeconfig?: string;
  nodeRefreshSeconds: string;
}

async function runWebhook(flags: WebhookFlags, ctx: CliContext): Promise<void> {
  const k = await kube();
  const config = webhookConfigFrom(flags);
  const { host, port } = parseHostPort(flags.listen, '--listen');
  let certPem: string;
  let keyPem: string;
  if (flags.selfSigned !== undefined) {
    if (flags.tlsCert !== undefined || flags.tlsKey !== undefined)
      throw new UsageError(
        '--self-signed generates its own certificate: do not combine it with --tls-cert/--tls-key',
      );
    const tls = await k.generateWebhookTls(flags.dnsName ?? ['localhost', '127.0.0.1']);
    try {
      await writeFile(flags.selfSigned, tls.caPem, { mode: 0o644 });
    } catch (cause) {
      throw new IoError(
        `cannot write ${flags.selfSigned}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    ctx.stderr(`ccnodes kube webhook: self-signed development CA written to ${flags.selfSigned}\n`);
    certPem = tls.certPem;
    keyPem = tls.keyPem;
  } else {
    if (flags.tlsCert === undefined || flags.tlsKey === undefined)
      throw new UsageError(
        '--tls-cert and --tls-key are required (or --self-signed <ca-out.pem> for development)',
      );
    certPem = (await readInputFile(flags.tlsCert)).toString('utf8');
    keyPem = (await readInputFile(flags.tlsKey)).toString('utf8');
  }
  let largest =
    flags.largestNodeEpcMib === undefined
      ? undefined
      : positiveInt(flags.largestNodeEpcMib, '--largest-node-epc-mib');
  let timer: NodeJS.Timeout | undefined;
  if (flags.discoverNodes) {
    const api = k.kubeNodeApi(await loadKubeConfig(flags.kubeconfig, ctx));
    const refresh = async (): Promise<void> => {
      try {
        const found = k.largestNodeEpcMiB(await api.listNodes());
        if (found !== undefined) largest = found;
      } catch (err) {
        ctx.stderr(
          `ccnodes kube webhook: node discovery failed: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
    };
    await refresh();
    timer = setInterval(
      () => void refresh(),
      positiveInt(flags.nodeRefreshSeconds, '--node-refresh-seconds') * 1000,
    );
    timer.unref();
  }
  const server = await k.startWebhookServer({
    host,
    port,
    certPem,
    keyPem,
    config,
    largestNodeEpcMiB: () => largest,
  });
  ctx.stdout(
    `ccnodes kube webhook: serving AdmissionReview v1 on ${server.url} (/mutate, /validate, /healthz)\n`,
  );
  await untilAborted(ctx.signal);
  if (timer !== undefined) clearInterval(timer);
  await server.close();
  ctx.stdout('ccnodes kube webhook: stopped\n');
}

interface MutateFlags extends WebhookConfigFlags {
  file: string;
  json: boolean;
  patch: boolean;
  namespace?: string;
  largestNodeEpcMib?: string;
}

/**
 * A pod, or the pod template of a workload (Deployment, Job, …), and where it sits; `undefined`
 * for an object that holds no pod (a ConfigMap, Service, …), which `kube mutate` passes through
 * unchanged as the API server would not send it to the webhook.
 */
function podOf(doc: unknown): { pod: unknown; namespace: string | undefined; template: boolean } | undefined {
  const o = doc as {
    kind?: unknown;
    metadata?: { namespace?: unknown };
    spec?: { template?: unknown; jobTemplate?: { spec?: { template?: unknown } } };
  } | null;
  if (typeof o !== 'object' || o === null)
    throw new UsageError('-f: the document is not a Kubernetes object');
  const namespace = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : undefined;
  if (o.kind === 'Pod' || o.kind === undefined) return { pod: o, namespace, template: false };
  const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
  if (template === undefined) return undefined;
  return { pod: template, namespace, template: true };
}

async function runMutate(flags: MutateFlags, ctx: CliContext): Promise<void> {
  const k = await kube();
  const config = webhookConfigFrom(flags);
  const text = (await readInputFile(flags.file)).toString('utf8');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length === 0) throw new UsageError(`-f ${flags.file}: no YAML document`);
  const results: unknown[] = [];
  const { stringify } = await import('yaml');
  for (const [i, d] of docs.entries()) {
    if (d.errors.length > 0)
      throw new UsageError(`-f ${flags.file}: document ${i + 1}: ${d.errors[0]?.message ?? 'YAML error'}`);
    const object: unknown = d.toJS();
    const found = podOf(object);
    if (found === undefined) {
      const kind = String((object as { kind?: unknown }).kind);
      results.push({
        document: i + 1,
        kind,
        podTemplate: false,
        sgx: false,
        reason: 'no pod in this object',
      });
      if (!flags.json) {
        ctx.stderr(`# document ${i + 1}: a ${kind}, no pod: passed through unchanged\n`);
        ctx.stdout(`${i > 0 ? '---\n' : ''}${stringify(flags.patch ? [] : object)}`);
      }
      continue;
    }
    const { pod, namespace, template } = found;
    const ns = flags.namespace ?? namespace ?? 'default';
    let result;
    try {
      result = k.mutatePodWithResult(pod, config, { namespace: ns });
    } catch (err) {
      if (err instanceof Error && 'code' in err)
        throw new UsageError(`-f ${flags.file}: document ${i + 1}: ${err.message}`);
      throw err;
    }
    const largest =
      flags.largestNodeEpcMib === undefined
        ? undefined
        : positiveInt(flags.largestNodeEpcMib, '--largest-node-epc-mib');
    const verdict = k.validatePod(
      pod,
      { config, ...(largest === undefined ? {} : { largestNodeEpcMiB: largest }) },
      { namespace: ns },
    );
    if (!verdict.allowed) ctx.exitCode = EXIT.CHECK_FAILED;
    results.push({
      document: i + 1,
      ...(template ? { podTemplate: true } : {}),
      sgx: result.analysis.sgx,
      reason: result.analysis.reason,
      totalEpcMiB: Number(result.analysis.totalEpcMib),
      allowed: verdict.allowed,
      ...(verdict.message === undefined ? {} : { refusal: verdict.message }),
      warnings: verdict.warnings,
      ...(flags.patch ? { patch: result.patch } : { pod: result.pod }),
    });
    if (!flags.json) {
      ctx.stderr(
        `# document ${i + 1}: ${result.analysis.sgx ? 'SGX pod' : 'left alone'} (${result.analysis.reason})` +
          `${result.analysis.sgx ? `, ${result.analysis.totalEpcMib} MiB EPC, ${result.patch.length} patch operation(s)` : ''}\n`,
      );
      for (const w of verdict.warnings) ctx.stderr(`# warning: ${w}\n`);
      if (verdict.message !== undefined) ctx.stderr(`# refused: ${verdict.message}\n`);
      ctx.stdout(`${i > 0 ? '---\n' : ''}${stringify(flags.patch ? result.patch : result.pod)}`);
    }
  }
  if (flags.json) ctx.stdout(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
}

interface LabelFlags {
  nodeName?: string;
  dryRun: boolean;
  kubeconfig?: string;
  json: boolean;
  devRoot: string;
  sysRoot: string;
  procRoot: string;
  simulate?: string;
  epcMib?: string;
  label?: string[];
}

async function runLabelNode(flags: LabelFlags, ctx: CliContext): Promise<void> {
  const k = await kube();
  const nodeName = flags.nodeName ?? ctx.env['NODE_NAME'];
  if (nodeName === undefined || nodeName === '')
    throw new UsageError('--node-name or $NODE_NAME is required');
  let labels: Record<string, string>;
  if (flags.label !== undefined) {
    labels = {};
    for (const l of flags.label) {
      const m = /^([^=]+)=(.*)$/.exec(l);
      if (m === null) throw new UsageError(`--label: expected key=value, got "${l}"`);
      labels[m[1] ?? ''] = m[2] ?? '';
    }
  } else {
    const dp = await import('../node/device-plugin/index.ts');
    const report = await dp.runNodeDoctor({
      devRoot: flags.devRoot,
      sysRoot: flags.sysRoot,
      procRoot: flags.procRoot,
      ...(flags.simulate === undefined ? {} : { simulate: flags.simulate }),
      ...(flags.epcMib === undefined ? {} : { epcMib: positiveInt(flags.epcMib, '--epc-mib') }),
    });
    labels = { ...report.labels };
  }
  const api = k.kubeNodeApi(await loadKubeConfig(flags.kubeconfig, ctx));
  const patch = await k.labelNode({ api, nodeName, labels, dryRun: flags.dryRun });
  if (flags.json) {
    ctx.stdout(
      `${JSON.stringify({ node: nodeName, labels, patch, applied: !flags.dryRun && patch.length > 0 }, null, 2)}\n`,
    );
    return;
  }
  for (const [key, value] of Object.entries(labels)) ctx.stdout(`${key}=${value}\n`);
  ctx.stdout(
    patch.length === 0
      ? `node ${nodeName}: labels already up to date\n`
      : `node ${nodeName}: ${flags.dryRun ? 'would patch' : 'patched'} (${patch.length} operation(s))\n`,
  );
}

/** Registers `ccnodes kube webhook|mutate|label-node`. */
export function registerKube(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'kube',
    'Kubernetes integration: admission webhook, pod mutation preview, node labeller.',
  );
  addWebhookConfigOptions(
    area
      .command('webhook')
      .description(
        'Serve the SGX admission webhook (AdmissionReview v1 over HTTPS): POST /mutate adds the other EPC dialect, ' +
          'sgx.intel.com/enclave, quoting set-up, tolerations, pool affinity and the EPC annotation; POST /validate refuses ' +
          'pods larger than the largest confidential node. Stops cleanly on SIGTERM/SIGINT.',
      )
      .option('--listen <host:port>', 'address to serve on', '0.0.0.0:8443')
      .option('--tls-cert <pem>', 'serving certificate (PEM, chain allowed)')
      .option('--tls-key <pem>', 'serving private key (PEM)')
      .option(
        '--self-signed <ca-out.pem>',
        'development: generate a CA and serving certificate, write the CA here',
      )
      .option(
        '--dns-name <name>',
        'with --self-signed: a name for the certificate (repeatable; default localhost, 127.0.0.1)',
        collect,
      )
      .option('--largest-node-epc-mib <MiB>', 'refuse pods asking for more EPC than this')
      .option('--discover-nodes', 'learn the largest node EPC from the API server (list nodes)', false)
      .option('--node-refresh-seconds <s>', 'with --discover-nodes: how often to list nodes', '60')
      .option('--kubeconfig <path>', 'kubeconfig (default: in-cluster service account)'),
  ).action(async (flags: WebhookFlags) => {
    await runWebhook(flags, ctx);
  });
  addWebhookConfigOptions(
    area
      .command('mutate')
      .description(
        'Show what the webhook would do to a pod (or a workload’s pod template) without a cluster: prints the patched ' +
          'object as YAML, or the JSON Patch with --patch; warnings and refusals go to stderr. Exit 1 when the validating ' +
          'webhook would refuse it.',
      )
      .requiredOption(
        '-f, --file <pod.yaml>',
        'pod or workload manifest (YAML or JSON; several documents allowed)',
      )
      .option('--json', 'print a JSON report (analysis, warnings, pod or patch)', false)
      .option('--patch', 'print the JSON Patch instead of the patched object', false)
      .option('--namespace <ns>', 'namespace the pod is created in (default: metadata.namespace or default)')
      .option('--largest-node-epc-mib <MiB>', 'also check the size against a node of this EPC'),
  ).action(async (flags: MutateFlags) => {
    await runMutate(flags, ctx);
  });
  area
    .command('label-node')
    .description(
      'Run the node doctor and put its ccnodes.io/* labels (sgx, epc-mib, flc, fsgsbase, simulated) on this node ' +
        '(one JSON patch, no PATCH when already labelled). Run by the device plugin DaemonSet as an init container.',
    )
    .option('--node-name <name>', 'node to label (default: $NODE_NAME from the downward API)')
    .option('--dry-run', 'print the patch without sending it', false)
    .option('--json', 'print a JSON report', false)
    .option('--kubeconfig <path>', 'kubeconfig (default: in-cluster service account)')
    .option('--dev-root <dir>', 'where the host /dev is mounted', '/dev')
    .option('--sys-root <dir>', 'where the host /sys is mounted', '/sys')
    .option('--proc-root <dir>', 'where the host /proc is mounted', '/proc')
    .option('--simulate <SKU>', 'the node simulates this Azure SGX size')
    .option('--epc-mib <MiB>', 'EPC size when sysfs does not report it')
    .option('--label <key=value>', 'apply these labels instead of running the doctor (repeatable)', collect)
    .action(async (flags: LabelFlags) => {
      await runLabelNode(flags, ctx);
    });
}
