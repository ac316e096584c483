/** Small builders shared by the manifest renderer: labels, security contexts, tolerations. */
import {
  APP_PART_OF_CCNODES,
  LABEL_APP_COMPONENT,
  LABEL_APP_PART_OF,
  TAINT_AKS_SPOT,
  TAINT_CONFIDENTIAL,
  TAINT_SIMULATED,
  type TaintSpec,
} from '../../contract/index.ts';
import type { ResourceValues, Values } from './values.ts';

/** A Kubernetes object as plain JSON. */
export type K8sObject = Record<string, unknown> & { readonly apiVersion: string; readonly kind: string };

/** Standard labels of one component. */
export function labels(component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': `ccnodes-${component}`,
    [LABEL_APP_COMPONENT]: component,
    [LABEL_APP_PART_OF]: APP_PART_OF_CCNODES,
    'app.kubernetes.io/managed-by': 'ccnodes-deploy',
  };
}

/** Selector labels (a stable subset of {@link labels}). */
export function selector(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': `ccnodes-${component}` };
}

/** The image of a component. */
export function image(values: Values, component: string): string {
  return `${values.image.repository}/ccnodes-${component}:${values.image.tag}`;
}

/** Restricted-profile container security context for a non-root service. */
export function restrictedContainer(): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * Node agents run as root (they create sockets in root-owned host directories such as kubelet's
 * device-plugin directory) but are NOT privileged: no capabilities, no privilege escalation,
 * read-only root filesystem.
 */
export function nodeAgentContainer(): Record<string, unknown> {
  return {
    runAsUser: 0,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container resources as JSON. */
export function resources(r: ResourceValues): Record<string, unknown> {
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

function toleration(t: TaintSpec): Record<string, string> {
  return { key: t.key, operator: 'Equal', value: t.value, effect: t.effect };
}

/** Taints node agents and SGX pods must tolerate under these values. */
export function poolTaints(values: Values, forNodeAgents: boolean): TaintSpec[] {
  const out: TaintSpec[] = [];
  if (values.confidentialPool.tolerateTaint) out.push(TAINT_CONFIDENTIAL);
  if (values.simulation.enabled) out.push(TAINT_SIMULATED);
  if (forNodeAgents && values.confidentialPool.tolerateSpot) out.push(TAINT_AKS_SPOT);
  return out;
}

/** Tolerations of node agents on confidential (and spot, and simulated) pools. */
export function nodeAgentTolerations(values: Values): Record<string, string>[] {
  return poolTaints(values, true).map(toleration);
}

/** The `NODE_NAME` env var from the downward API. */
export const NODE_NAME_ENV = { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } };
