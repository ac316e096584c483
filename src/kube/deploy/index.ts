/** `ccnodes deploy`: typed values → Kubernetes manifests. */
export { DEFAULT_VALUES, parseValues, type Values, type ResourceValues } from './values.ts';
export { DEFAULT_VALUES_YAML } from './values-doc.ts';
export { renderManifests, manifestFileName, NAMES, PLACEHOLDER_TLS, type RenderTls } from './render.ts';
export { generateRenderTls } from './tls-material.ts';
export type { K8sObject } from './objects.ts';
