/**
 * API-server access for the commands that talk to Kubernetes (`kube webhook --discover-nodes`,
 * `kube label-node`, `node device-plugin`, `node patch-node`): one place that decides where the
 * kubeconfig comes from. @kubernetes/client-node is loaded only when a command needs it.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CliContext } from './context.ts';
import { IoError } from './errors.ts';

/**
 * Loads `--kubeconfig <path>` (relative to the working directory), else the pod's service account
 * when running in a cluster ($KUBERNETES_SERVICE_HOST), else $KUBECONFIG or ~/.kube/config.
 * Throws `ERR_IO` naming the file when it cannot be read or has no current cluster.
 */
export async function loadKubeConfig(path: string | undefined, ctx: CliContext): Promise<KubeConfig> {
  const file = path === undefined ? undefined : resolve(ctx.cwd, path);
  try {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (file !== undefined) kc.loadFromFile(file);
    else if (ctx.env['KUBERNETES_SERVICE_HOST'] !== undefined) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (kc.getCurrentCluster() === null) throw new Error('no current cluster; pass --kubeconfig');
    return kc;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot load the kubeconfig${file === undefined ? '' : ` ${file}`}: ${reason}`, {
      cause,
      ...(file === undefined ? {} : { details: { path: file } }),
    });
  }
}

/**
 * Resolves `--kubeconfig <path>` against the working directory and checks that it can be read, for
 * commands that hand it to a child process (so a bad path fails at once, with `ERR_IO`).
 */
export async function readableKubeconfig(
  path: string | undefined,
  ctx: CliContext,
): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const file = resolve(ctx.cwd, path);
  try {
    await access(file, constants.R_OK);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot load the kubeconfig ${file}: ${reason}`, { cause, details: { path: file } });
  }
  return file;
}
