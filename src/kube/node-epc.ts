/**
 * How much EPC the cluster's nodes offer, for the validating webhook's "larger than any node" check:
 * per node, allocatable `kubernetes.azure.com/sgx_epc_mem_in_MiB`, else allocatable `sgx.intel.com/epc`
 * (bytes, rounded down to whole MiB — what a pod can actually get), else the `ccnodes.io/epc-mib` label.
 */
import { LABEL_EPC_MIB, RESOURCE_EPC_MIB, RESOURCE_INTEL_EPC_BYTES } from '../contract/index.ts';
import type { NodeLike } from './node-labeller.ts';
import { parseQuantity } from './quantity.ts';

const MIB = 1024n * 1024n;

/** EPC MiB a node offers, or undefined when it offers none or says nothing readable. */
export function nodeEpcMiB(node: NodeLike): number | undefined {
  const alloc = node.status?.allocatable ?? undefined;
  const name = node.metadata?.name ?? '?';
  try {
    const azure = alloc?.[RESOURCE_EPC_MIB];
    if (azure !== undefined) {
      const q = parseQuantity(azure, `node ${name} allocatable`);
      return Number(q.numerator / q.denominator);
    }
    const intel = alloc?.[RESOURCE_INTEL_EPC_BYTES];
    if (intel !== undefined) {
      const q = parseQuantity(intel, `node ${name} allocatable`);
      return Number(q.numerator / (q.denominator * MIB));
    }
  } catch {
    return undefined;
  }
  const label = node.metadata?.labels?.[LABEL_EPC_MIB];
  return label !== undefined && /^\d+$/.test(label) ? Number(label) : undefined;
}

/** The largest EPC (MiB) any of `nodes` offers, or undefined when none offers EPC. */
export function largestNodeEpcMiB(nodes: readonly NodeLike[]): number | undefined {
  let best: number | undefined;
  for (const n of nodes) {
    const mib = nodeEpcMiB(n);
    if (mib !== undefined && mib > 0 && (best === undefined || mib > best)) best = mib;
  }
  return best;
}
