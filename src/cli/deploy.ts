/**
 * `ccnodes deploy render|values`: render every Kubernetes object of an installation from a typed,
 * documented values file (our own `helm template`), or print the documented default values.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import type { K8sObject } from '../kube/index.ts';
import type { CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { areaCommand } from './index.ts';
import { readInputFile } from './io.ts';

interface RenderFlags {
  file?: string;
  output?: string;
  placeholderTls: boolean;
}

const HEADER = '# Rendered by `ccnodes deploy render`. Do not edit: change the values and render again.\n';

/** YAML of one object, with stable formatting. */
export function objectYaml(obj: K8sObject): string {
  return stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false });
}

async function runRender(flags: RenderFlags, ctx: CliContext): Promise<void> {
  const k = await import('../kube/index.ts');
  let input: unknown = undefined;
  if (flags.file !== undefined) {
    const text = (await readInputFile(flags.file)).toString('utf8');
    try {
      input = parse(text);
    } catch (err) {
      throw new UsageError(`-f ${flags.file}: not YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let values;
  try {
    values = k.parseValues(input);
  } catch (err) {
    if (err instanceof k.KubeValuesError)
      throw new UsageError(`${flags.file ?? 'values'}: ${err.message} (${err.code})`, { ...err.details });
    throw err;
  }
  const tls = flags.placeholderTls ? k.PLACEHOLDER_TLS : await k.generateRenderTls(values);
  const objects = k.renderManifests(values, tls);
  if (flags.output === undefined) {
    ctx.stdout(HEADER + objects.map(objectYaml).join('---\n'));
    return;
  }
  try {
    await mkdir(flags.output, { recursive: true });
    for (const [i, obj] of objects.entries()) {
      await writeFile(join(flags.output, k.manifestFileName(obj, i)), HEADER + objectYaml(obj), {
        mode: obj.kind === 'Secret' ? 0o600 : 0o644,
      });
    }
  } catch (cause) {
    throw new IoError(
      `cannot write to ${flags.output}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  ctx.stdout(`wrote ${objects.length} objects to ${flags.output}\n`);
}

/** Registers `ccnodes deploy render|values`. */
export function registerDeploy(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'deploy',
    'Deployment manifests for a Kubernetes cluster (typed values → YAML).',
  );
  area
    .command('render')
    .description(
      'Render every object of a ccnodes installation (namespaces, RBAC, device plugin and quote helper DaemonSets, ' +
        'webhook Deployment/Service/webhook configurations with a freshly generated CA, attestation service with ' +
        'SQLite or PostgreSQL storage) from a values file; without -f the documented defaults are used.',
    )
    .option('-f, --file <values.yaml>', 'values file (see `ccnodes deploy values`)')
    .option('-o, --output <dir>', 'write one file per object into this directory instead of stdout')
    .option(
      '--placeholder-tls',
      'put placeholders instead of generated keys (for diffing; not deployable)',
      false,
    )
    .action(async (flags: RenderFlags) => {
      await runRender(flags, ctx);
    });
  area
    .command('values')
    .description('Print the documented default values (the content of deploy/values.yaml).')
    .action(async () => {
      const k = await import('../kube/index.ts');
      ctx.stdout(k.DEFAULT_VALUES_YAML);
    });
}
