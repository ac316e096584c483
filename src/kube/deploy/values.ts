/**
 * The deployment values: a typed, documented configuration from which `ccnodes deploy render` builds
 * every Kubernetes object (like `helm template`, in our own code). deploy/values.yaml is the
 * commented copy of {@link DEFAULT_VALUES}; `parseValues` merges a user's file over the defaults and
 * refuses unknown keys and wrong types, naming the key path.
 */
import { QUOTING_MODES } from '../../contract/index.ts';
import { KubeValuesError } from '../errors.ts';

/** Container resource requests and limits. */
export interface ResourceValues {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** Everything the renderer reads. */
export interface Values {
  readonly namespace: string;
  readonly nodeNamespace: string;
  readonly image: {
    readonly repository: string;
    readonly tag: string;
    readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  };
  readonly simulation: { readonly enabled: boolean; readonly sku: string };
  readonly confidentialPool: {
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerateTaint: boolean;
    readonly tolerateSpot: boolean;
  };
  readonly devicePlugin: {
    readonly enabled: boolean;
    readonly epcMode: 'auto' | 'devices' | 'capacity';
    readonly enclaveLimit: number;
    readonly provisionLimit: number;
    readonly labelNode: boolean;
    /** Inject SGX device nodes through CDI (/var/run/cdi) instead of device specs. */
    readonly cdi: boolean;
    readonly metricsPort: number;
    /** NODE_OPTIONS of the daemon (space-separated `--flag[=value]`); '' sets none. */
    readonly nodeOptions: string;
    readonly resources: ResourceValues;
  };
  readonly quoteHelper: {
    readonly enabled: boolean;
    readonly provider: 'auto' | 'sim' | 'aesmd';
    readonly hostAesmdSocket: string;
    /** Port of its Prometheus endpoint (`/metrics`, `/healthz`; the container port named `metrics`). */
    readonly metricsPort: number;
    /** NODE_OPTIONS of the daemon (space-separated `--flag[=value]`); '' sets none. */
    readonly nodeOptions: string;
    readonly resources: ResourceValues;
  };
  readonly webhook: {
    readonly enabled: boolean;
    readonly replicas: number;
    readonly failurePolicy: 'Ignore' | 'Fail';
    readonly validationFailurePolicy: 'Ignore' | 'Fail';
    readonly timeoutSeconds: number;
    readonly defaultQuoting: (typeof QUOTING_MODES)[number];
    readonly affinity: 'required' | 'preferred' | 'none';
    readonly excludedNamespaces: readonly string[];
    readonly discoverNodes: boolean;
    readonly largestNodeEpcMiB: number | null;
    readonly certificateDays: number;
    readonly resources: ResourceValues;
  };
  readonly dashboard: {
    readonly enabled: boolean;
    readonly servicePort: number;
    /** PCS/PCCS base URL for the Collateral page; null = no Collateral page. */
    readonly collateralUrl: string | null;
    readonly resources: ResourceValues;
  };
  readonly attestation: {
    readonly enabled: boolean;
    readonly replicas: number;
    readonly publicUrl: string;
    readonly collateral: string;
    readonly servicePort: number;
    readonly adminTokenSecret: string | null;
    readonly storage: {
      readonly type: 'sqlite' | 'postgres';
      readonly size: string;
      readonly storageClassName: string | null;
      readonly postgresSecret: string;
      readonly postgresSecretKey: string;
    };
    readonly resources: ResourceValues;
  };
  readonly collateralService: {
    readonly enabled: boolean;
    readonly mode: 'lazy' | 'req' | 'offline';
    readonly upstream: string;
    readonly servicePort: number;
    readonly apiKeySecret: string | null;
    readonly storage: { readonly size: string; readonly storageClassName: string | null };
    readonly resources: ResourceValues;
  };
}

/**
 * Default NODE_OPTIONS of the two node agents: cap V8's young generation at 1 MiB per semi-space.
 * They run on every confidential node, small ones included (DC1s_v2: 4 GiB), and mostly idle; the
 * cap saves about 5 MiB idle and 30 MiB under load; quote throughput differed by less than the
 * run-to-run noise (`npm run bench -- daemon-rss`, `npm run bench -- quote-helper [--image-only]`).
 */
export const NODE_AGENT_NODE_OPTIONS = '--max-semi-space-size=1';

/** Keys holding NODE_OPTIONS: empty allowed, else space-separated `--flag` or `--flag=value`. */
const NODE_OPTIONS_KEYS = new Set(['devicePlugin.nodeOptions', 'quoteHelper.nodeOptions']);
const NODE_OPTION = /^--[a-z0-9][a-z0-9-]*(=[^\s]+)?$/;

/** The documented defaults (deploy/values.yaml). */
export const DEFAULT_VALUES: Values = {
  namespace: 'ccnodes-system',
  nodeNamespace: 'ccnodes-node',
  image: { repository: 'ghcr.io/ccnodes', tag: '0.1.0', pullPolicy: 'IfNotPresent' },
  simulation: { enabled: false, sku: 'Standard_DC4s_v2' },
  confidentialPool: {
    nodeSelector: { 'ccnodes.io/pool': 'confidential' },
    tolerateTaint: true,
    tolerateSpot: true,
  },
  devicePlugin: {
    enabled: true,
    epcMode: 'auto',
    enclaveLimit: 110,
    provisionLimit: 110,
    labelNode: true,
    cdi: false,
    metricsPort: 9402,
    nodeOptions: NODE_AGENT_NODE_OPTIONS,
    resources: { requests: { cpu: '40m', memory: '64Mi' }, limits: { cpu: '250m', memory: '256Mi' } },
  },
  quoteHelper: {
    enabled: true,
    provider: 'auto',
    hostAesmdSocket: '/var/run/aesmd-host/aesm.socket',
    metricsPort: 9403,
    nodeOptions: NODE_AGENT_NODE_OPTIONS,
    resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  },
  webhook: {
    enabled: true,
    replicas: 2,
    failurePolicy: 'Ignore',
    validationFailurePolicy: 'Ignore',
    timeoutSeconds: 5,
    defaultQuoting: 'out-of-process',
    affinity: 'required',
    excludedNamespaces: ['kube-system'],
    discoverNodes: true,
    largestNodeEpcMiB: null,
    certificateDays: 825,
    resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
  },
  dashboard: {
    enabled: false,
    servicePort: 8080,
    collateralUrl: null,
    resources: { requests: { cpu: '20m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  },
  attestation: {
    enabled: true,
    replicas: 1,
    publicUrl: 'https://ccnodes-attestation.ccnodes-system.svc',
    collateral: 'in-cluster',
    servicePort: 443,
    adminTokenSecret: null,
    storage: {
      type: 'sqlite',
      size: '1Gi',
      storageClassName: null,
      postgresSecret: 'ccnodes-attestation-db',
      postgresSecretKey: 'url',
    },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  },
  collateralService: {
    enabled: true,
    mode: 'lazy',
    upstream: 'https://api.trustedservices.intel.com',
    servicePort: 8081,
    apiKeySecret: null,
    storage: { size: '256Mi', storageClassName: null },
    resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  },
};

/** Keys whose value is a free-form string map (any key allowed). */
const FREE_MAPS = new Set(['confidentialPool.nodeSelector', 'requests', 'limits']);
/** Keys that may be null or a value of the named type. */
const NULLABLE: Readonly<Record<string, 'number' | 'string'>> = {
  'webhook.largestNodeEpcMiB': 'number',
  'dashboard.collateralUrl': 'string',
  'attestation.adminTokenSecret': 'string',
  'attestation.storage.storageClassName': 'string',
  'collateralService.apiKeySecret': 'string',
  'collateralService.storage.storageClassName': 'string',
};
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  'image.pullPolicy': ['Always', 'IfNotPresent', 'Never'],
  'devicePlugin.epcMode': ['auto', 'devices', 'capacity'],
  'quoteHelper.provider': ['auto', 'sim', 'aesmd'],
  'webhook.failurePolicy': ['Ignore', 'Fail'],
  'webhook.validationFailurePolicy': ['Ignore', 'Fail'],
  'webhook.defaultQuoting': QUOTING_MODES,
  'webhook.affinity': ['required', 'preferred', 'none'],
  'attestation.storage.type': ['sqlite', 'postgres'],
  'collateralService.mode': ['lazy', 'req', 'offline'],
};
const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  'webhook.timeoutSeconds': [1, 30],
  'webhook.replicas': [1, 100],
  'dashboard.servicePort': [1, 65535],
  'attestation.replicas': [1, 100],
  'devicePlugin.enclaveLimit': [1, 100000],
  'devicePlugin.provisionLimit': [1, 100000],
  'devicePlugin.metricsPort': [1, 65535],
  'quoteHelper.metricsPort': [1, 65535],
  'attestation.servicePort': [1, 65535],
  'collateralService.servicePort': [1, 65535],
  'webhook.certificateDays': [1, 3650],
  'webhook.largestNodeEpcMiB': [1, 1 << 30],
};

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function fail(path: string, message: string): never {
  throw new KubeValuesError(`values ${path === '' ? '(root)' : path}: ${message}`, { path });
}

function merge(defaults: unknown, input: unknown, path: string): unknown {
  const leaf = path.split('.').at(-1) ?? '';
  if (FREE_MAPS.has(path) || FREE_MAPS.has(leaf)) {
    if (typeName(input) !== 'object') fail(path, `expected a map of strings, got ${typeName(input)}`);
    for (const [k, v] of Object.entries(input as object)) {
      if (typeof v !== 'string') fail(`${path}.${k}`, `expected a string, got ${typeName(v)}`);
    }
    return input;
  }
  const nullable = NULLABLE[path];
  if (nullable !== undefined) {
    if (input === null) return null;
    if (typeof input !== nullable) fail(path, `expected ${nullable} or null, got ${typeName(input)}`);
  } else if (typeName(input) !== typeName(defaults)) {
    fail(path, `expected ${typeName(defaults)}, got ${typeName(input)}`);
  }
  if (Array.isArray(input)) {
    input.forEach((v, i) => {
      if (typeof v !== 'string') fail(`${path}[${i}]`, `expected a string, got ${typeName(v)}`);
    });
    return input;
  }
  if (typeName(input) === 'object') {
    const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      const sub = path === '' ? k : `${path}.${k}`;
      if (!(k in out)) fail(sub, `unknown key (known: ${Object.keys(out).join(', ')})`);
      out[k] = merge(out[k], v, sub);
    }
    return out;
  }
  const allowed = ENUMS[path];
  if (allowed !== undefined && !allowed.includes(input as string))
    fail(path, `expected one of ${allowed.join(', ')}, got "${String(input)}"`);
  const range = RANGES[path];
  if (
    range !== undefined &&
    (typeof input !== 'number' || !Number.isInteger(input) || input < range[0] || input > range[1])
  )
    fail(path, `expected an integer from ${range[0]} to ${range[1]}, got ${String(input)}`);
  if (NODE_OPTIONS_KEYS.has(path)) {
    const bad = String(input)
      .split(' ')
      .filter((t) => t !== '')
      .find((t) => !NODE_OPTION.test(t));
    if (bad !== undefined) fail(path, `expected space-separated --flag or --flag=value, got "${bad}"`);
    return input;
  }
  if (typeof input === 'string' && input === '' && !path.endsWith('tag')) fail(path, 'must not be empty');
  return input;
}

/** Merges a parsed values document (or null/undefined for an empty file) over the defaults. */
export function parseValues(input: unknown): Values {
  if (input === null || input === undefined) return DEFAULT_VALUES;
  const values = merge(DEFAULT_VALUES, input, '') as Values;
  if (values.namespace === values.nodeNamespace)
    fail(
      'nodeNamespace',
      'must differ from namespace (node agents need a privileged Pod Security level, services do not)',
    );
  if (values.dashboard.enabled && values.attestation.adminTokenSecret === null)
    fail(
      'dashboard.enabled',
      'the dashboard reads the audit log with the admin token and requires it from browsers: set attestation.adminTokenSecret',
    );
  if (values.attestation.storage.type === 'sqlite' && values.attestation.replicas > 1)
    fail('attestation.replicas', 'SQLite storage allows one replica; use storage.type: postgres for more');
  if (
    values.attestation.enabled &&
    values.attestation.collateral === 'in-cluster' &&
    !values.collateralService.enabled
  )
    fail(
      'attestation.collateral',
      '"in-cluster" names the collateral service, which is disabled (collateralService.enabled: false); give a PCS/PCCS URL',
    );
  return values;
}
