/**
 * AdmissionReview v1 in and out (spec k8s-sgx.md §7). The mutating answer fails open: a pod the
 * webhook cannot read is admitted unchanged with a warning (the validating webhook is where such a pod
 * is refused), so a webhook bug never blocks unrelated workloads.
 */
import { KubeInputError } from './errors.ts';
import type { JsonPatchOperation } from './json-patch.ts';
import { mutatePod } from './mutate.ts';
import { validatePod, type ValidateOptions } from './validate.ts';
import { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from './webhook-config.ts';
import { isCcnodesError } from '../errors/index.ts';

/** The fields of AdmissionRequest the webhook uses. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly namespace?: string;
  readonly operation?: string;
  readonly kind?: { readonly group?: string; readonly version?: string; readonly kind?: string };
  readonly object?: unknown;
}

/** AdmissionResponse v1. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch array. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

/** The AdmissionReview envelope the webhook returns. */
export interface AdmissionReviewResponse {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

/** Reads an AdmissionReview v1 request body; throws KubeInputError naming the bad field. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  const fail = (field: string, what: string): never => {
    throw new KubeInputError('ERR_KUBE_ADMISSION_REVIEW', `AdmissionReview ${field}: ${what}`, { field });
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail('body', 'expected a JSON object');
  const o = body as Record<string, unknown>;
  if (o['apiVersion'] !== 'admission.k8s.io/v1')
    return fail('apiVersion', `expected "admission.k8s.io/v1", got ${JSON.stringify(o['apiVersion'])}`);
  if (o['kind'] !== 'AdmissionReview')
    return fail('kind', `expected "AdmissionReview", got ${JSON.stringify(o['kind'])}`);
  const req = o['request'];
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return fail('request', 'missing');
  const r = req as Record<string, unknown>;
  if (typeof r['uid'] !== 'string' || r['uid'] === '') return fail('request.uid', 'missing');
  if (r['namespace'] !== undefined && typeof r['namespace'] !== 'string')
    return fail('request.namespace', 'not a string');
  return r as unknown as AdmissionRequest;
}

function envelope(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function isPodCreate(req: AdmissionRequest): boolean {
  const kind = req.kind?.kind;
  return (
    (kind === undefined || kind === 'Pod') && (req.operation === undefined || req.operation === 'CREATE')
  );
}

function ctxOf(req: AdmissionRequest): { namespace?: string } {
  return req.namespace === undefined || req.namespace === '' ? {} : { namespace: req.namespace };
}

/** Answers a mutating review. */
export function reviewMutation(
  req: AdmissionRequest,
  config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
): AdmissionReviewResponse {
  if (!isPodCreate(req)) return envelope({ uid: req.uid, allowed: true });
  let patch: JsonPatchOperation[];
  try {
    patch = mutatePod(req.object, config, ctxOf(req));
  } catch (err) {
    if (!isCcnodesError(err)) throw err;
    return envelope({
      uid: req.uid,
      allowed: true,
      warnings: [`ccnodes webhook left the pod unchanged: ${err.message}`],
    });
  }
  if (patch.length === 0) return envelope({ uid: req.uid, allowed: true });
  return envelope({
    uid: req.uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
  });
}

/** Answers a validating review. */
export function reviewValidation(
  req: AdmissionRequest,
  options: ValidateOptions = {},
): AdmissionReviewResponse {
  if (!isPodCreate(req)) return envelope({ uid: req.uid, allowed: true });
  const result = validatePod(req.object, options, ctxOf(req));
  const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {};
  if (result.allowed) return envelope({ uid: req.uid, allowed: true, ...warnings });
  return envelope({
    uid: req.uid,
    allowed: false,
    status: { code: 403, message: result.message ?? 'refused' },
    ...warnings,
  });
}
