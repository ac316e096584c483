/** What the admission webhook adds to SGX pods, and where it does nothing. */
import {
  LABEL_POOL,
  POOL_CONFIDENTIAL,
  QUOTING_MODES,
  TAINT_CONFIDENTIAL,
  type QuotingMode,
} from '../contract/index.ts';

/** A core/v1 Toleration. */
export interface TolerationSpec {
  readonly key?: string;
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** How SGX pods are steered to confidential pools. */
export type AffinityMode = 'required' | 'preferred' | 'none';

/** Webhook behaviour (the `webhook` section of the deployment values). */
export interface WebhookConfig {
  /** Namespaces whose pods are never changed or refused. Default: `kube-system`. */
  readonly excludedNamespaces: readonly string[];
  /** Quoting for SGX pods that carry no quoting annotation. Default: `out-of-process`. */
  readonly defaultQuoting: QuotingMode;
  /** Tolerations added to SGX pods. Default: the confidential pool taint. */
  readonly tolerations: readonly TolerationSpec[];
  /** Node affinity to the pool label. Default: `required`. */
  readonly affinity: AffinityMode;
  /** The node label that marks confidential pools. Default: `ccnodes.io/pool In [confidential]`. */
  readonly poolLabel: { readonly key: string; readonly values: readonly string[] };
}

/** The defaults, as documented in deploy/values.yaml. */
export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  excludedNamespaces: ['kube-system'],
  defaultQuoting: 'out-of-process',
  tolerations: [
    {
      key: TAINT_CONFIDENTIAL.key,
      operator: 'Equal',
      value: TAINT_CONFIDENTIAL.value,
      effect: TAINT_CONFIDENTIAL.effect,
    },
  ],
  affinity: 'required',
  poolLabel: { key: LABEL_POOL, values: [POOL_CONFIDENTIAL] },
};

/** True for a valid quoting mode name. */
export function isQuotingMode(value: string): value is QuotingMode {
  return (QUOTING_MODES as readonly string[]).includes(value);
}
