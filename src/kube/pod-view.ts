/**
 * A checked, read-only view of the parts of a core/v1 Pod the webhook reads. Absent or `null`
 * fields are simply absent; a field of the wrong JSON type is a {@link KubeInputError} naming it.
 */
import { KubeInputError } from './errors.ts';

/** Which container list a container came from. */
export type ContainerList = 'containers' | 'initContainers';

/** One container of the pod. */
export interface ContainerView {
  readonly list: ContainerList;
  readonly index: number;
  readonly name: string;
  /** An init container with `restartPolicy: Always` (a sidecar that runs beside the app containers). */
  readonly sidecar: boolean;
  readonly limits: Readonly<Record<string, unknown>> | undefined;
  readonly requests: Readonly<Record<string, unknown>> | undefined;
  readonly envNames: readonly string[];
  readonly mountPaths: readonly string[];
}

/** The pod as the webhook sees it. */
export interface PodView {
  readonly annotations: Readonly<Record<string, string>>;
  readonly namespace: string | undefined;
  readonly containers: readonly ContainerView[];
  readonly volumeNames: readonly string[];
}

type Json = Record<string, unknown>;

function shapeError(field: string, expected: string, value: unknown): KubeInputError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return new KubeInputError('ERR_KUBE_POD_SHAPE', `${field}: expected ${expected}, got ${got}`, { field });
}

function optObject(value: unknown, field: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw shapeError(field, 'an object', value);
  return value as Json;
}

function optArray(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw shapeError(field, 'an array', value);
  return value;
}

function optString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw shapeError(field, 'a string', value);
  return value;
}

function readContainer(value: unknown, list: ContainerList, index: number): ContainerView {
  const field = `spec.${list}[${index}]`;
  const c = optObject(value, field);
  if (c === undefined) throw shapeError(field, 'an object', value);
  const resources = optObject(c['resources'], `${field}.resources`);
  const env = optArray(c['env'], `${field}.env`).map((e, i) => {
    const o = optObject(e, `${field}.env[${i}]`);
    return optString(o?.['name'], `${field}.env[${i}].name`) ?? '';
  });
  const mounts = optArray(c['volumeMounts'], `${field}.volumeMounts`).map((m, i) => {
    const o = optObject(m, `${field}.volumeMounts[${i}]`);
    return optString(o?.['mountPath'], `${field}.volumeMounts[${i}].mountPath`) ?? '';
  });
  return {
    list,
    index,
    name: optString(c['name'], `${field}.name`) ?? '',
    sidecar:
      list === 'initContainers' && optString(c['restartPolicy'], `${field}.restartPolicy`) === 'Always',
    limits: optObject(resources?.['limits'], `${field}.resources.limits`),
    requests: optObject(resources?.['requests'], `${field}.resources.requests`),
    envNames: env,
    mountPaths: mounts,
  };
}

/** Reads `pod` (a core/v1 Pod as JSON). */
export function readPod(pod: unknown): PodView {
  const root = optObject(pod, 'pod');
  if (root === undefined) throw shapeError('pod', 'an object', pod);
  const metadata = optObject(root['metadata'], 'metadata');
  const rawAnnotations = optObject(metadata?.['annotations'], 'metadata.annotations') ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAnnotations)) {
    const s = optString(v, `metadata.annotations["${k}"]`);
    if (s !== undefined) annotations[k] = s;
  }
  const spec = optObject(root['spec'], 'spec');
  const containers = [
    ...optArray(spec?.['initContainers'], 'spec.initContainers').map((c, i) =>
      readContainer(c, 'initContainers', i),
    ),
    ...optArray(spec?.['containers'], 'spec.containers').map((c, i) => readContainer(c, 'containers', i)),
  ];
  const volumeNames = optArray(spec?.['volumes'], 'spec.volumes').map((v, i) => {
    const o = optObject(v, `spec.volumes[${i}]`);
    return optString(o?.['name'], `spec.volumes[${i}].name`) ?? '';
  });
  return {
    annotations,
    namespace: optString(metadata?.['namespace'], 'metadata.namespace'),
    containers,
    volumeNames,
  };
}

/** `spec.containers[0] (app)` — how messages name a container. */
export function containerLabel(c: ContainerView): string {
  return `spec.${c.list}[${c.index}]${c.name === '' ? '' : ` (${c.name})`}`;
}
