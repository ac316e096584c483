/** AdmissionReview v1 request fixtures for the webhook tests. */
import { seededRandom } from '../support/seeded-random.ts';

/** Request UIDs: unique within a run, the same on every run (CCNODES_TEST_SEED). */
const rng = seededRandom(import.meta.url);

export type Json = Record<string, unknown>;

/** Wraps a pod in an AdmissionReview v1 CREATE request, as the API server sends it. */
export function admissionReview(pod: Json, namespace = 'default', operation = 'CREATE'): Json {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: rng.uuid(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: '',
      namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:default:deployer', groups: ['system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** A pod with the given containers (and optional extras). */
export function pod(
  containers: Json[],
  extra: { annotations?: Json; initContainers?: Json[]; spec?: Json } = {},
): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'app-',
      ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    },
    spec: {
      ...(extra.initContainers === undefined ? {} : { initContainers: extra.initContainers }),
      containers,
      ...(extra.spec ?? {}),
    },
  };
}

/** A container asking for `limits` (and optionally `requests`). */
export function container(name: string, limits?: Json, requests?: Json, extra: Json = {}): Json {
  const resources: Json = {};
  if (limits !== undefined) resources['limits'] = limits;
  if (requests !== undefined) resources['requests'] = requests;
  return {
    name,
    image: `example.com/${name}:1`,
    ...(limits === undefined && requests === undefined ? {} : { resources }),
    ...extra,
  };
}

export const AZURE = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
export const INTEL = 'sgx.intel.com/epc';
