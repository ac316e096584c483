import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of the Kubernetes layer: webhook, node labeller, manifest renderer. */
export const KUBE_ERRORS = {
  ERR_KUBE_QUANTITY: {
    type: 'KubeInputError',
    summary:
      'A resource quantity is not a valid Kubernetes quantity, is negative, or is not whole where it must be (names the field).',
  },
  ERR_KUBE_POD_SHAPE: {
    type: 'KubeInputError',
    summary:
      'The object is not a pod the webhook can read (a field has the wrong JSON type; names the field).',
  },
  ERR_KUBE_CONFIDENTIAL_CONTAINER: {
    type: 'KubeInputError',
    summary:
      'A ccnodes.io/confidential-container* annotation is malformed, names no container of the pod, or conflicts with the pod (names the annotation or field).',
  },
  ERR_KUBE_ADMISSION_REVIEW: {
    type: 'KubeInputError',
    summary:
      'The request body is not an admission.k8s.io/v1 AdmissionReview with a request (names the field).',
  },
  ERR_KUBE_VALUES: {
    type: 'KubeValuesError',
    summary:
      'The deployment values file has an unknown key or a value of the wrong type or range (names the key path).',
  },
  ERR_KUBE_TLS: {
    type: 'KubeTlsError',
    summary: 'Webhook TLS material could not be generated or read (names the file).',
  },
  ERR_KUBE_LISTEN: {
    type: 'KubeServerError',
    summary: 'The webhook server could not listen on the given address.',
  },
  ERR_KUBE_NODE_PATCH: {
    type: 'KubeNodeError',
    summary: 'The API server rejected or failed reading or patching the node being labelled.',
  },
} as const satisfies ErrorRegistry;

export type KubeErrorCode = keyof typeof KUBE_ERRORS;

/** A pod, quantity or AdmissionReview that cannot be read. */
export class KubeInputError extends CcnodesError {
  constructor(
    code:
      | 'ERR_KUBE_QUANTITY'
      | 'ERR_KUBE_POD_SHAPE'
      | 'ERR_KUBE_ADMISSION_REVIEW'
      | 'ERR_KUBE_CONFIDENTIAL_CONTAINER',
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details === undefined ? undefined : { details });
  }
}

/** A bad deployment values file. */
export class KubeValuesError extends CcnodesError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_KUBE_VALUES', message, details === undefined ? undefined : { details });
  }
}

/** TLS material problems. */
export class KubeTlsError extends CcnodesError {
  constructor(message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super('ERR_KUBE_TLS', message, options);
  }
}

/** The webhook server could not start. */
export class KubeServerError extends CcnodesError {
  constructor(message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super('ERR_KUBE_LISTEN', message, options);
  }
}

/** Reading or patching a node failed. */
export class KubeNodeError extends CcnodesError {
  constructor(message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super('ERR_KUBE_NODE_PATCH', message, options);
  }
}
