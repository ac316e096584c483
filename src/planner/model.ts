/** The planner's view of pods and nodes: integer resource amounts and scheduling constraints. */

/** Resource name → amount in the planner's unit (cpu: millicores; byte-sized: bytes; others: count). */
export type ResourceList = Readonly<Record<string, number>>;

/** A taint on a node (only NoSchedule and NoExecute keep pods away, as in kube-scheduler's filter). */
export interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** A pod toleration. */
export interface Toleration {
  readonly key: string;
  readonly operator: 'Equal' | 'Exists';
  readonly value: string;
  /** '' tolerates every effect. */
  readonly effect: string;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  readonly values: readonly string[];
}

/** One term of `requiredDuringSchedulingIgnoredDuringExecution` (its requirements are ANDed). */
export interface NodeSelectorTerm {
  readonly matchExpressions: readonly NodeSelectorRequirement[];
  /** Only `metadata.name` is defined for matchFields. */
  readonly matchFields: readonly NodeSelectorRequirement[];
}

/** Identical pods (the replicas of one workload): the unit the packer works on. */
export interface PodGroup {
  /** `Kind/namespace/name`. */
  readonly id: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  /** The pod's effective requests (init containers and overhead applied); never includes `pods`. */
  readonly requests: ResourceList;
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity terms (ORed), or undefined when the pod has none. */
  readonly affinity: readonly NodeSelectorTerm[] | undefined;
  readonly tolerations: readonly Toleration[];
  /** A DaemonSet: one pod per matching node instead of `replicas`. */
  readonly daemon: boolean;
  /** EPC the pod asks for, in MiB (the larger of both dialects); for reports. */
  readonly epcMiB: number;
  /**
   * cpu and memory summed over the app containers only (`spec.containers`: no init containers, no
   * overhead) — what cluster-autoscaler's DecreasingPodOrderer scores a pod by. `requests` when absent.
   */
  readonly scoreRequests?: ResourceList;
  /**
   * The app containers and sidecars (restartable init containers), each with the requests it states
   * (a limit alone gives the request) — what an HPA's Utilization target is a percentage of. A
   * resource a container does not state is absent. `requests` is used when this is absent.
   */
  readonly containers?: readonly { readonly name: string; readonly requests: ResourceList }[];
}

/** A node shape: an SKU's node as the scheduler sees it. */
export interface NodeShape {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly allocatable: ResourceList;
}
