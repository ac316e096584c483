/**
 * deploy/values.yaml: the default values with a comment on every key. `ccnodes deploy values` prints
 * this text; a test checks that it parses to exactly {@link DEFAULT_VALUES} and that the file in the
 * repository is this text.
 */
export const DEFAULT_VALUES_YAML = `# ccnodes deployment values. Render with:  ccnodes deploy render -f values.yaml -o out/
# Every key is optional; unknown keys are refused. Defaults shown.

# Namespace of the webhook and the attestation service (Pod Security level "restricted").
namespace: ccnodes-system
# Namespace of the node agents (device plugin, quote helper). They need hostPath volumes, so this
# namespace gets Pod Security level "privileged"; the containers themselves are not privileged.
nodeNamespace: ccnodes-node

image:
  # Images are <repository>/ccnodes-<component>:<tag> (components: device-plugin, quote-helper,
  # webhook, attestation; Dockerfiles in deploy/docker/).
  repository: ghcr.io/ccnodes
  tag: 0.1.0
  pullPolicy: IfNotPresent # Always | IfNotPresent | Never

simulation:
  # true: nodes only simulate SGX (development clusters without SGX hardware). The device plugin
  # runs with --simulate <sku>, taints and labels nodes ccnodes.io/simulated=true, the quote helper
  # uses the simulated platform, and SGX pods tolerate the simulated taint.
  enabled: false
  sku: Standard_DC4s_v2 # an Azure SGX size (Standard_DC1s_v2 … Standard_DC48ds_v3)

confidentialPool:
  # Node labels of confidential pools. Put them on the pool when creating it, e.g.
  #   az aks nodepool add ... --labels ccnodes.io/pool=confidential
  # Node agents run only there; the webhook gives SGX pods node affinity to the first label.
  nodeSelector:
    ccnodes.io/pool: confidential
  # Tolerate the documented confidential-pool taint ccnodes.io/pool=confidential:NoSchedule
  # (node agents and SGX pods). Taint the pool with it to keep regular pods away.
  tolerateTaint: true
  # Node agents tolerate the AKS spot taint kubernetes.azure.com/scalesetpriority=spot:NoSchedule,
  # so spot confidential pools get a device plugin too.
  tolerateSpot: true

devicePlugin:
  enabled: true
  # How kubernetes.azure.com/sgx_epc_mem_in_MiB is advertised: devices (one per MiB), capacity
  # (node status), or auto (devices while the list fits kubelet's 4 MiB gRPC message).
  epcMode: auto # auto | devices | capacity
  enclaveLimit: 110 # slots of sgx.intel.com/enclave per node
  provisionLimit: 110 # slots of sgx.intel.com/provision per node
  # Run \`ccnodes kube label-node\` as an init container (node doctor labels ccnodes.io/*).
  labelNode: true
  # true: write a CDI spec for the SGX device nodes into the host's /var/run/cdi and hand them to
  # containers as CDI devices (ccnodes.io/sgx=enclave, …) instead of device specs. Needs Kubernetes
  # 1.28+ and a runtime with CDI enabled (containerd 1.7+, CRI-O).
  cdi: false
  metricsPort: 9402
  # NODE_OPTIONS of the daemon (space-separated --flag or --flag=value; "" for none). The default
  # caps V8's young generation: about 5 MiB less idle, 30 MiB less under load.
  nodeOptions: --max-semi-space-size=1
  # The daemon idles at about 64 MiB; at start it patches its node from a short-lived child process
  # (ccnodes node patch-node, about 120 MiB at its peak), so the limit leaves room for both.
  resources:
    requests: { cpu: 40m, memory: 64Mi }
    limits: { cpu: 250m, memory: 256Mi }

quoteHelper:
  # The out-of-process quote helper: serves /var/run/aesmd/aesm.socket on every confidential node.
  enabled: true
  # sim: quotes from the simulated platform; aesmd: relay to the host's Intel aesmd;
  # auto: sim when simulation.enabled, else aesmd.
  provider: auto # auto | sim | aesmd
  # With provider aesmd: the host aesmd's socket. It must not be /var/run/aesmd/aesm.socket (the
  # quote helper serves that path), so run the host aesmd with its socket in another directory.
  hostAesmdSocket: /var/run/aesmd-host/aesm.socket
  # Prometheus endpoint (/metrics, /healthz) on the pod network, named \`metrics\` so the dashboard
  # finds it; the quote endpoints stay on the node-local sockets.
  metricsPort: 9403
  # NODE_OPTIONS of the daemon, as for the device plugin.
  nodeOptions: --max-semi-space-size=1
  resources:
    requests: { cpu: 50m, memory: 96Mi }
    limits: { cpu: 500m, memory: 256Mi }

webhook:
  enabled: true
  replicas: 2 # a PodDisruptionBudget keeps one up when replicas > 1
  # Ignore: if the webhook is down, pods are admitted unchanged (never blocks unrelated workloads).
  failurePolicy: Ignore # Ignore | Fail
  validationFailurePolicy: Ignore # Ignore | Fail
  timeoutSeconds: 5 # 1-30
  # Quoting for SGX pods without a ccnodes.io/quoting or sgx.intel.com/quote-provider annotation.
  defaultQuoting: out-of-process # out-of-process | in-process | none
  affinity: required # required | preferred | none (node affinity to confidential pools)
  # Pods here are never changed or refused (the ccnodes namespaces are always excluded too).
  excludedNamespaces: [kube-system]
  # List nodes to learn the largest node's EPC (refuse pods that could never fit); needs RBAC list nodes.
  discoverNodes: true
  # Or give it: the EPC (MiB) of the largest confidential node; null = unknown.
  largestNodeEpcMiB: null
  certificateDays: 825 # validity of the generated CA and serving certificates
  resources:
    requests: { cpu: 20m, memory: 64Mi }
    limits: { cpu: 200m, memory: 128Mi }

dashboard:
  # The read-only operator dashboard (ccnodes dashboard serve, docs/dashboard.md): nodes and EPC from
  # the API server (RBAC: list nodes and pods), the attestation service's audit log, policies and
  # secret names (needs attestation.adminTokenSecret; browsers log in with that token as the HTTP
  # Basic password). Plain HTTP on the cluster network: reach it with kubectl port-forward or put a
  # TLS-terminating ingress in front.
  enabled: false
  servicePort: 8080
  collateralUrl: null # PCS/PCCS base URL for the Collateral page (e.g. the collateral service); null = none
  resources:
    requests: { cpu: 20m, memory: 96Mi }
    limits: { cpu: 500m, memory: 256Mi }

attestation:
  enabled: true
  replicas: 1 # more than 1 needs storage.type: postgres
  # Token issuer and the URL clients use; the serving certificate also names its host.
  publicUrl: https://ccnodes-attestation.ccnodes-system.svc
  # Where collateral comes from: in-cluster = the collateral service below (collateralService), or a
  # PCS/PCCS base URL: the host alone or with /sgx/certification/v4 (or /tdx/…), e.g.
  # https://pccs.example:8081/sgx/certification/v4/. Intel's host fetches the Root CA CRL from its
  # root certificate's CRL distribution point.
  collateral: in-cluster
  servicePort: 443
  # Name of a Secret with key "token": the admin bearer token for policy management; null = none.
  adminTokenSecret: null
  storage:
    type: sqlite # sqlite (on a PersistentVolumeClaim) | postgres
    size: 1Gi # sqlite: volume size
    storageClassName: null # sqlite: storage class; null = the cluster default
    postgresSecret: ccnodes-attestation-db # postgres: Secret holding the postgres:// URL
    postgresSecretKey: url
  resources:
    requests: { cpu: 100m, memory: 128Mi }
    limits: { cpu: '1', memory: 512Mi }

collateralService:
  # The PCCS-compatible collateral service (ccnodes collateral serve): verifies and caches Intel
  # collateral for the attestation service and for nodes (QCNL: ccnodes collateral qcnl-conf --url
  # http://ccnodes-collateral.<namespace>.svc:<servicePort>). Plain HTTP inside the cluster: every
  # artefact is signed by Intel and verified by the service and by every verifier.
  enabled: true
  mode: lazy # lazy (fetch on a miss) | req (PCK certificates at registration) | offline (imported only)
  upstream: https://api.trustedservices.intel.com # Intel's PCS, or another PCCS
  servicePort: 8081
  # Name of a Secret with key "key": Intel's PCS subscription key (PCK certificate routes); null = none.
  apiKeySecret: null
  storage:
    size: 256Mi # SQLite cache volume
    storageClassName: null # null = the cluster default
  resources:
    requests: { cpu: 50m, memory: 96Mi }
    limits: { cpu: 500m, memory: 256Mi }
`;
