/**
 * `dashboard`: the operator dashboard: web server and its data adapters (Kubernetes API, attestation API, metrics).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export {
  createDashboard,
  DEFAULT_DASHBOARD_HTTP_LIMITS,
  isLoopback,
  CONTENT_SECURITY_POLICY,
  type Dashboard,
  type DashboardConfig,
  type MetricsTarget,
} from './server.ts';
export {
  kubeApiSource,
  type KubeSource,
  type KubeSnapshot,
  type KubeNode,
  type KubePod,
  type KubeSourceOptions,
} from './kube-source.ts';
export {
  attestationApiSource,
  policyHashOf,
  POLICY_TYPES,
  type AttestationSource,
  type AttestationSourceOptions,
  type AuditLine,
  type PolicyInfo,
  type SecretInfo,
} from './attestation-source.ts';
export {
  readCollateralStatus,
  sgxV4Base,
  type CollateralStatus,
  type FmspcCollateral,
} from './collateral-status.ts';
export {
  parseMetricsText,
  samplesOf,
  sumOf,
  histogramBuckets,
  bucketQuantile,
  DEFAULT_METRICS_TEXT_LIMITS,
  type MetricsText,
  type MetricSample,
  type MetricsTextLimits,
} from './metrics-text.ts';
export { quantityBaseUnits as parseQuantity, quantityNumber } from '../contract/index.ts';
export {
  nodesView,
  workloadsView,
  attestationsView,
  policyHistory,
  podEpc,
  agentHealth,
  doctorResults,
  identitiesByActor,
  auditIdentity,
  type NodesView,
  type NodeRow,
  type WorkloadsView,
  type WorkloadRow,
  type AttestationsView,
  type AttestationFilter,
  type AgentHealth,
  type DoctorResult,
} from './model.ts';
export { PAGES } from './pages.ts';
export { unixTarget } from './http-get.ts';
export { discoverMetricsTargets, MAX_DISCOVERED_TARGETS } from './discovery.ts';
export {
  listPlanReportDirs,
  readPlanReport,
  readPlanChart,
  PLAN_CHARTS,
  PLAN_FILE_CSP,
  type PlanReport,
  type PlanReportSource,
} from './plan-reports.ts';
