/**
 * The Kubernetes layer: the admission webhook (pure `mutatePod` / `validatePod` and the HTTPS
 * server), the node labeller, and the deployment renderer (`ccnodes deploy render`).
 */
export {
  KUBE_ERRORS,
  type KubeErrorCode,
  KubeInputError,
  KubeValuesError,
  KubeTlsError,
  KubeServerError,
  KubeNodeError,
} from './errors.ts';
export {
  parseQuantity,
  intelEpcToMib,
  azureEpcToMib,
  mibToIntelQuantity,
  mibToAzureQuantity,
  type Quantity,
} from './quantity.ts';
export { PatchBuilder, pointer, escapeToken, type JsonPatchOperation, type JsonPath } from './json-patch.ts';
export { readPod, type PodView, type ContainerView } from './pod-view.ts';
export { containerEpc, effectivePodEpcMib, type ContainerEpc } from './epc.ts';
export {
  DEFAULT_WEBHOOK_CONFIG,
  isQuotingMode,
  type WebhookConfig,
  type TolerationSpec,
  type AffinityMode,
} from './webhook-config.ts';
export {
  mutatePod,
  mutatePodWithResult,
  analysePod,
  applyJsonPatch,
  type PodAnalysis,
  type MutateContext,
} from './mutate.ts';
export {
  confidentialContainerPatch,
  readConfidentialSpec,
  launcherCommand,
  CONFIDENTIAL_DEFAULT_APP_DIR,
  CONFIDENTIAL_DEFAULT_EPC_MIB,
  DEFAULT_LAUNCHER_IMAGE,
  LAUNCHER_INIT_CONTAINER,
  LAUNCHER_VOLUME,
  APP_CONFIG_VOLUME,
  LAUNCHER_DIR,
  type ConfidentialSpec,
} from './mutate-container.ts';
export { validatePod, type ValidateOptions, type ValidationResult } from './validate.ts';
export {
  parseAdmissionReview,
  reviewMutation,
  reviewValidation,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from './admission.ts';
export { generateWebhookTls, serviceDnsNames, type WebhookTls, type WebhookCa } from './tls.ts';
export {
  DEFAULT_WEBHOOK_HTTP_LIMITS,
  startWebhookServer,
  type WebhookHttpLimits,
  type WebhookServer,
  type WebhookServerOptions,
} from './server.ts';
export {
  labelNode,
  labelPatch,
  kubeNodeApi,
  type NodeApi,
  type NodeLike,
  type LabelNodeOptions,
} from './node-labeller.ts';
export { nodeEpcMiB, largestNodeEpcMiB } from './node-epc.ts';
export {
  DEFAULT_VALUES,
  DEFAULT_VALUES_YAML,
  parseValues,
  renderManifests,
  manifestFileName,
  generateRenderTls,
  NAMES as DEPLOY_NAMES,
  PLACEHOLDER_TLS,
  type Values,
  type ResourceValues,
  type RenderTls,
  type K8sObject,
} from './deploy/index.ts';
