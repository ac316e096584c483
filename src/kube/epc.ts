/**
 * How much EPC a container and a pod ask for, in both dialects. A container's EPC comes from its
 * limits (extended resources are always limited) or, failing that, its requests; when both dialects
 * are written and disagree, the larger wins (the scheduler must satisfy both anyway).
 *
 * A pod's effective EPC follows the scheduler's rule for init containers: app containers and sidecars
 * (init containers with `restartPolicy: Always`) run together, while each ordinary init container
 * runs alone beside the sidecars started before it; the effective total is the larger of the two.
 */
import { RESOURCE_EPC_MIB, RESOURCE_INTEL_EPC_BYTES } from '../contract/index.ts';
import { azureEpcToMib, intelEpcToMib } from './quantity.ts';
import { containerLabel, type ContainerView } from './pod-view.ts';

/** One resource map's EPC, per dialect, in MiB (undefined: not written). */
export interface EpcEntry {
  readonly azureMib: bigint | undefined;
  readonly intelMib: bigint | undefined;
}

/** A container's EPC. */
export interface ContainerEpc {
  readonly container: ContainerView;
  readonly limits: EpcEntry;
  readonly requests: EpcEntry;
  /** MiB the container asks for (0 when it asks for none). */
  readonly mib: bigint;
}

function entry(map: Readonly<Record<string, unknown>> | undefined, field: string): EpcEntry {
  const azure = map?.[RESOURCE_EPC_MIB];
  const intel = map?.[RESOURCE_INTEL_EPC_BYTES];
  return {
    azureMib:
      azure === undefined || azure === null
        ? undefined
        : azureEpcToMib(azure, `${field}["${RESOURCE_EPC_MIB}"]`),
    intelMib:
      intel === undefined || intel === null
        ? undefined
        : intelEpcToMib(intel, `${field}["${RESOURCE_INTEL_EPC_BYTES}"]`),
  };
}

function entryMib(e: EpcEntry): bigint | undefined {
  if (e.azureMib === undefined) return e.intelMib;
  if (e.intelMib === undefined) return e.azureMib;
  return e.azureMib > e.intelMib ? e.azureMib : e.intelMib;
}

/** Reads a container's EPC; throws KubeInputError for an unreadable quantity. */
export function containerEpc(c: ContainerView): ContainerEpc {
  const base = `${containerLabel(c)}.resources`;
  const limits = entry(c.limits, `${base}.limits`);
  const requests = entry(c.requests, `${base}.requests`);
  return { container: c, limits, requests, mib: entryMib(limits) ?? entryMib(requests) ?? 0n };
}

/** The pod's effective EPC in MiB (see the module comment). */
export function effectivePodEpcMib(epcs: readonly ContainerEpc[]): bigint {
  let running = 0n;
  let sidecars = 0n;
  let initPeak = 0n;
  for (const e of epcs) {
    if (e.container.list === 'containers') running += e.mib;
    else if (e.container.sidecar) sidecars += e.mib;
    else if (sidecars + e.mib > initPeak) initPeak = sidecars + e.mib;
  }
  const steady = running + sidecars;
  return steady > initPeak ? steady : initPeak;
}
