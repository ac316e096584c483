/**
 * Confidential containers in the admission webhook. A pod annotated
 * `ccnodes.io/confidential-container: <configmap>` gets one of its containers wrapped in the
 * ccnodes launcher (`ccnodes container run`, docs/confidential-containers.md):
 *
 * - an init container `ccnodes-launcher` (the ccnodes image, distroless Node.js) copies its Node.js
 *   runtime and the ccnodes program into the in-memory emptyDir `ccnodes-launcher`, mounted read-only
 *   at `/ccnodes/launcher` in the wrapped container;
 * - the ConfigMap (keys `app.yaml` and `app.sig`) becomes the volume `ccnodes-app`, and its two keys
 *   are mounted one by one (subPath, read-only) into the app directory of the image
 *   (`ccnodes.io/confidential-container-dir`, default `/ccnodes/app`). They go next to the program's
 *   files because the manifest's trusted files are relative to the manifest;
 * - the container's `command` becomes the launcher, `container run <dir>/app.yaml --sig <dir>/app.sig
 *   --hash-helper off --` (off: an openssl in the app's image is not the launcher's to trust).
 *   Kubernetes appends the container's `args`, which reach the program as extra arguments. The
 *   program itself is the manifest's measured `entrypoint`, so an original `command` is replaced;
 * - when the container asks for no EPC, it gets `ccnodes.io/confidential-container-epc-mib` MiB (default
 *   64, the manifest's default `epcMiB`). The webhook has no API client and does not read the ConfigMap.
 *   The EPC rules of mutate.ts then do the rest (second dialect, enclave device, quoting, pool).
 *
 * Applying the patch and mutating again gives nothing new: every step checks the state first.
 * Malformed annotations throw {@link KubeInputError} `ERR_KUBE_CONFIDENTIAL_CONTAINER`, so the
 * validating webhook refuses the pod instead of letting it run unwrapped.
 */
import {
  ANNOTATION_CONFIDENTIAL_APP_DIR,
  ANNOTATION_CONFIDENTIAL_CONTAINER,
  ANNOTATION_CONFIDENTIAL_EPC_MIB,
  ANNOTATION_CONFIDENTIAL_TARGET,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_EPC_BYTES,
} from '../contract/index.ts';
import { KubeInputError } from './errors.ts';
import { PatchBuilder, type JsonPatchOperation } from './json-patch.ts';
import { containerLabel, type ContainerView, type PodView } from './pod-view.ts';

/** Default app directory in the image (where app.yaml and app.sig are mounted). */
export const CONFIDENTIAL_DEFAULT_APP_DIR = '/ccnodes/app';
/** Default EPC (MiB) for a wrapped container that asks for none. */
export const CONFIDENTIAL_DEFAULT_EPC_MIB = 64;
/** Names of what the webhook adds. */
export const LAUNCHER_INIT_CONTAINER = 'ccnodes-launcher';
export const LAUNCHER_VOLUME = 'ccnodes-launcher';
export const APP_CONFIG_VOLUME = 'ccnodes-app';
/** Where the launcher volume is mounted in both containers. */
export const LAUNCHER_DIR = '/ccnodes/launcher';
/** Default image the launcher is copied from: the ccnodes image (`deploy/docker/*.Dockerfile`). */
export const DEFAULT_LAUNCHER_IMAGE = 'ghcr.io/ccnodes/ccnodes-webhook:0.1.0';
/** Node.js and the ccnodes CLI as the wrapped container runs them (copied from the image's /nodejs and /app). */
export const LAUNCHER_NODE = `${LAUNCHER_DIR}/nodejs/bin/node`;
/** The CLI's CommonJS start (scripts/build.ts `FAST_START_NAME`): `container run` without Node's ES module loader. */
export const LAUNCHER_CLI = `${LAUNCHER_DIR}/app/dist/ccnodes.cjs`;

/** The ConfigMap keys the webhook mounts. */
export const APP_MANIFEST_KEY = 'app.yaml';
export const APP_SIG_KEY = 'app.sig';

/** Copies the runtime and the CLI in the distroless image, which has no shell or cp. */
const COPY_SCRIPT =
  "const fs=require('fs');for(const d of ['nodejs','app'])" +
  "fs.cpSync('/'+d,process.argv[1]+'/'+d,{recursive:true,verbatimSymlinks:true})";

/** A pod's confidential-container request, read from its annotations. */
export interface ConfidentialSpec {
  readonly configMap: string;
  readonly appDir: string;
  readonly epcMib: number;
  readonly container: ContainerView;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function bad(annotation: string, message: string): KubeInputError {
  return new KubeInputError('ERR_KUBE_CONFIDENTIAL_CONTAINER', `annotation ${annotation}: ${message}`, {
    field: `metadata.annotations["${annotation}"]`,
  });
}

/** Reads the annotations; undefined when the pod asks for no confidential container. */
export function readConfidentialSpec(view: PodView): ConfidentialSpec | undefined {
  const a = view.annotations;
  const configMap = a[ANNOTATION_CONFIDENTIAL_CONTAINER];
  if (configMap === undefined) {
    for (const other of [
      ANNOTATION_CONFIDENTIAL_EPC_MIB,
      ANNOTATION_CONFIDENTIAL_APP_DIR,
      ANNOTATION_CONFIDENTIAL_TARGET,
    ])
      if (a[other] !== undefined) throw bad(other, `set without ${ANNOTATION_CONFIDENTIAL_CONTAINER}`);
    return undefined;
  }
  if (configMap.length > 253 || !DNS_SUBDOMAIN.test(configMap))
    throw bad(
      ANNOTATION_CONFIDENTIAL_CONTAINER,
      `"${configMap}" is not a ConfigMap name (a DNS-1123 subdomain: lower-case letters, digits, '-', '.')`,
    );
  const epcText = a[ANNOTATION_CONFIDENTIAL_EPC_MIB];
  let epcMib = CONFIDENTIAL_DEFAULT_EPC_MIB;
  if (epcText !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(epcText) || Number(epcText) > 65536)
      throw bad(ANNOTATION_CONFIDENTIAL_EPC_MIB, `"${epcText}" is not a whole number of MiB from 1 to 65536`);
    epcMib = Number(epcText);
  }
  const appDir = a[ANNOTATION_CONFIDENTIAL_APP_DIR] ?? CONFIDENTIAL_DEFAULT_APP_DIR;
  if (
    !appDir.startsWith('/') ||
    appDir.length > 1024 ||
    appDir.split('/').some((s) => s === '.' || s === '..') ||
    /[\0\\]/.test(appDir) ||
    appDir === '/' ||
    appDir === LAUNCHER_DIR ||
    appDir.startsWith(`${LAUNCHER_DIR}/`)
  )
    throw bad(
      ANNOTATION_CONFIDENTIAL_APP_DIR,
      `"${appDir}" must be an absolute directory other than / and ${LAUNCHER_DIR}, without . or .. segments`,
    );
  const dir = appDir.replace(/\/+$/, '');
  const target = a[ANNOTATION_CONFIDENTIAL_TARGET];
  const candidates = view.containers.filter((c) => c.list === 'containers');
  const container =
    target === undefined ? candidates[0] : candidates.find((c) => c.name === target && target !== '');
  if (container === undefined)
    throw target === undefined
      ? bad(ANNOTATION_CONFIDENTIAL_CONTAINER, 'the pod has no container to wrap')
      : bad(ANNOTATION_CONFIDENTIAL_TARGET, `no container named "${target}" in spec.containers`);
  if (container.name === LAUNCHER_INIT_CONTAINER)
    throw bad(
      ANNOTATION_CONFIDENTIAL_TARGET,
      `the container to wrap may not be named ${LAUNCHER_INIT_CONTAINER}`,
    );
  return { configMap, appDir: dir, epcMib, container };
}

/** The command the wrapped container runs (its `args` follow as the program's extra arguments). */
export function launcherCommand(appDir: string): string[] {
  return [
    LAUNCHER_NODE,
    LAUNCHER_CLI,
    'container',
    'run',
    `${appDir}/${APP_MANIFEST_KEY}`,
    '--sig',
    `${appDir}/${APP_SIG_KEY}`,
    // The launcher comes from the ccnodes image but runs in the app's: an openssl there is the
    // app image's, not vouched for like the launcher, so the trusted files are hashed in process.
    '--hash-helper',
    'off',
    '--',
  ];
}

type Json = Record<string, unknown>;

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function named(list: unknown, name: string): Json | undefined {
  return asArray(list).find(
    (x): x is Json => typeof x === 'object' && x !== null && (x as Json)['name'] === name,
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Adds `volume` unless the pod has it; a different volume of that name is a conflict. */
function ensureVolume(b: PatchBuilder, volume: Json): void {
  const name = String(volume['name']);
  const have = named(b.get(['spec', 'volumes']), name);
  if (have === undefined) b.append(['spec', 'volumes'], volume);
  else if (!sameJson(have, volume))
    throw new KubeInputError(
      'ERR_KUBE_CONFIDENTIAL_CONTAINER',
      `spec.volumes: the pod already has a different volume named ${name}, which the webhook adds for the confidential container`,
      { field: 'spec.volumes' },
    );
}

/** Adds `mount` to the container at `path` unless present; another mount at that mountPath is a conflict. */
function ensureMount(b: PatchBuilder, path: (string | number)[], where: string, mount: Json): void {
  const mounts = asArray(b.get([...path, 'volumeMounts']));
  const at = mounts.find(
    (m): m is Json => typeof m === 'object' && m !== null && (m as Json)['mountPath'] === mount['mountPath'],
  );
  if (at === undefined) b.append([...path, 'volumeMounts'], mount);
  else if (!sameJson(at, mount))
    throw new KubeInputError(
      'ERR_KUBE_CONFIDENTIAL_CONTAINER',
      `${where}.volumeMounts: ${String(mount['mountPath'])} is already mounted from another volume`,
      { field: `${where}.volumeMounts` },
    );
}

/** Options of the wrapping (the image the launcher is copied from). */
export interface ConfidentialOptions {
  readonly launcherImage?: string;
}

/**
 * The JSON Patch that wraps `spec.container` of `pod` (add operations only; empty when the pod is
 * already wrapped). The caller then applies the EPC rules to the patched pod.
 */
export function confidentialContainerPatch(
  pod: unknown,
  spec: ConfidentialSpec,
  options: ConfidentialOptions = {},
): JsonPatchOperation[] {
  const b = new PatchBuilder(pod);
  const c = spec.container;
  const path = ['spec', c.list, c.index];
  const where = containerLabel(c);
  ensureVolume(b, { name: LAUNCHER_VOLUME, emptyDir: { medium: 'Memory' } });
  ensureVolume(b, {
    name: APP_CONFIG_VOLUME,
    configMap: {
      name: spec.configMap,
      items: [
        { key: APP_MANIFEST_KEY, path: APP_MANIFEST_KEY },
        { key: APP_SIG_KEY, path: APP_SIG_KEY },
      ],
    },
  });
  const init = {
    name: LAUNCHER_INIT_CONTAINER,
    image: options.launcherImage ?? DEFAULT_LAUNCHER_IMAGE,
    command: ['/nodejs/bin/node', '-e', COPY_SCRIPT, LAUNCHER_DIR],
    volumeMounts: [{ name: LAUNCHER_VOLUME, mountPath: LAUNCHER_DIR }],
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
  const haveInit = named(b.get(['spec', 'initContainers']), LAUNCHER_INIT_CONTAINER);
  // Init containers run in order and all before the app containers, so the end of the list will do.
  if (haveInit === undefined) b.append(['spec', 'initContainers'], init);
  else if (!sameJson(haveInit, init))
    throw new KubeInputError(
      'ERR_KUBE_CONFIDENTIAL_CONTAINER',
      `spec.initContainers: the pod already has a different init container named ${LAUNCHER_INIT_CONTAINER}`,
      { field: 'spec.initContainers' },
    );
  ensureMount(b, path, where, { name: LAUNCHER_VOLUME, mountPath: LAUNCHER_DIR, readOnly: true });
  for (const key of [APP_MANIFEST_KEY, APP_SIG_KEY])
    ensureMount(b, path, where, {
      name: APP_CONFIG_VOLUME,
      mountPath: `${spec.appDir}/${key}`,
      subPath: key,
      readOnly: true,
    });
  b.set([...path, 'command'], launcherCommand(spec.appDir));
  const hasEpc = (m: Readonly<Record<string, unknown>> | undefined): boolean =>
    m !== undefined && Object.keys(m).some((k) => k === RESOURCE_EPC_MIB || k === RESOURCE_INTEL_EPC_BYTES);
  if (!hasEpc(c.limits) && !hasEpc(c.requests)) {
    b.set([...path, 'resources', 'requests', RESOURCE_EPC_MIB], String(spec.epcMib));
    b.set([...path, 'resources', 'limits', RESOURCE_EPC_MIB], String(spec.epcMib));
  }
  return [...b.operations];
}
