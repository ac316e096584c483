/**
 * `validatePod`: the validating webhook's pure core. Refuses a pod whose effective EPC is more than
 * the largest confidential node offers (it could never be scheduled) or whose EPC quantity cannot be
 * read, and warns about unit mix-ups between the two dialects (`10` vs `10Mi`). Pods that use no
 * SGX, and pods in excluded namespaces, are always allowed without warnings.
 */
import {
  ANNOTATION_QUOTING,
  QUOTING_MODES,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_EPC_BYTES,
} from '../contract/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import { analysePod, type MutateContext } from './mutate.ts';
import { containerLabel, type ContainerView } from './pod-view.ts';
import { parseQuantity, isWhole } from './quantity.ts';
import { DEFAULT_WEBHOOK_CONFIG, isQuotingMode, type WebhookConfig } from './webhook-config.ts';

/** What the validator knows about the cluster. */
export interface ValidateOptions {
  /** EPC (MiB) of the largest confidential node; no size check when absent. */
  readonly largestNodeEpcMiB?: number;
  readonly config?: WebhookConfig;
}

/** The verdict. `message` is set when the pod is refused. */
export interface ValidationResult {
  readonly allowed: boolean;
  readonly message?: string;
  readonly warnings: readonly string[];
}

const BINARY_SUFFIXES = new Set(['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei']);
const DECIMAL_SUFFIXES = new Set(['k', 'M', 'G', 'T', 'P', 'E']);
const MIB = 1024n * 1024n;

function unitWarnings(c: ContainerView): string[] {
  const out: string[] = [];
  const where = containerLabel(c);
  for (const [mapName, map] of [
    ['limits', c.limits],
    ['requests', c.requests],
  ] as const) {
    const azure = map?.[RESOURCE_EPC_MIB];
    if (azure !== undefined && azure !== null) {
      const q = parseQuantity(azure, `${where}.resources.${mapName}["${RESOURCE_EPC_MIB}"]`);
      if (BINARY_SUFFIXES.has(q.suffix) || DECIMAL_SUFFIXES.has(q.suffix)) {
        out.push(
          `${where}: ${RESOURCE_EPC_MIB} counts MiB, so "${q.text}" asks for ${q.numerator / q.denominator} MiB; ` +
            `write the plain number of MiB (e.g. "${q.text.replace(/[A-Za-z]+$/, '')}").`,
        );
      } else if (!isWhole(q)) {
        out.push(`${where}: ${RESOURCE_EPC_MIB} "${q.text}" is not a whole number of MiB; it is rounded up.`);
      }
    }
    const intel = map?.[RESOURCE_INTEL_EPC_BYTES];
    if (intel !== undefined && intel !== null) {
      const q = parseQuantity(intel, `${where}.resources.${mapName}["${RESOURCE_INTEL_EPC_BYTES}"]`);
      const bytes = q.numerator / q.denominator;
      if (q.suffix === '' && bytes > 0n && bytes < MIB) {
        out.push(
          `${where}: ${RESOURCE_INTEL_EPC_BYTES} counts bytes, so "${q.text}" is ${bytes} bytes (rounded up to 1 MiB); ` +
            `did you mean "${q.text}Mi"?`,
        );
      } else if (DECIMAL_SUFFIXES.has(q.suffix)) {
        out.push(
          `${where}: ${RESOURCE_INTEL_EPC_BYTES} "${q.text}" uses a decimal suffix (${q.suffix} = 10^n bytes); ` +
            `it is rounded up to whole MiB. Use binary suffixes such as "${q.text.replace(/[A-Za-z]+$/, '')}${q.suffix}i".`,
        );
      } else if (q.numerator % (q.denominator * MIB) !== 0n) {
        out.push(
          `${where}: ${RESOURCE_INTEL_EPC_BYTES} "${q.text}" is not a whole number of MiB; it is rounded up.`,
        );
      }
    }
  }
  return out;
}

/** Checks `pod`; see the module comment. */
export function validatePod(
  pod: unknown,
  options: ValidateOptions = {},
  ctx: MutateContext = {},
): ValidationResult {
  const config = options.config ?? DEFAULT_WEBHOOK_CONFIG;
  let analysis;
  try {
    analysis = analysePod(pod, config, ctx);
  } catch (err) {
    if (isCcnodesError(err)) return { allowed: false, message: `${err.message} (${err.code})`, warnings: [] };
    throw err;
  }
  if (!analysis.sgx) return { allowed: true, warnings: [] };
  const warnings: string[] = [];
  for (const e of analysis.epcs) {
    if (e.mib === 0n) continue;
    warnings.push(...unitWarnings(e.container));
    for (const [mapName, entry] of [
      ['limits', e.limits],
      ['requests', e.requests],
    ] as const) {
      if (entry.azureMib !== undefined && entry.intelMib !== undefined && entry.azureMib !== entry.intelMib) {
        warnings.push(
          `${containerLabel(e.container)}: resources.${mapName} disagree: ${RESOURCE_EPC_MIB} is ${entry.azureMib} MiB ` +
            `but ${RESOURCE_INTEL_EPC_BYTES} is ${entry.intelMib} MiB; the pod needs both, so ${
              entry.azureMib > entry.intelMib ? entry.azureMib : entry.intelMib
            } MiB counts.`,
        );
      }
    }
  }
  for (const e of analysis.epcs) {
    const lim = e.limits.azureMib ?? e.limits.intelMib;
    const req = e.requests.azureMib ?? e.requests.intelMib;
    if (lim !== undefined && req !== undefined && lim !== req) {
      warnings.push(
        `${containerLabel(e.container)}: EPC requests (${req} MiB) differ from limits (${lim} MiB); ` +
          'extended resources need requests equal to limits, so the API server will refuse the pod.',
      );
    }
  }
  const quoting = analysis.view.annotations[ANNOTATION_QUOTING];
  if (quoting !== undefined && !isQuotingMode(quoting)) {
    warnings.push(
      `annotation ${ANNOTATION_QUOTING}="${quoting}" is not one of ${QUOTING_MODES.join(', ')}; ` +
        `the default (${config.defaultQuoting}) applies.`,
    );
  }
  const largest = options.largestNodeEpcMiB;
  if (largest !== undefined && analysis.totalEpcMib > BigInt(largest)) {
    return {
      allowed: false,
      message:
        `the pod asks for ${analysis.totalEpcMib} MiB of SGX EPC in total, but the largest confidential node ` +
        `offers ${largest} MiB, so it could never be scheduled. Lower the EPC request ` +
        `(${RESOURCE_EPC_MIB} counts MiB, ${RESOURCE_INTEL_EPC_BYTES} counts bytes) or add a pool with more EPC.`,
      warnings,
    };
  }
  return { allowed: true, warnings };
}
