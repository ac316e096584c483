/**
 * Implementation of `ccnodes attestation serve` (loaded only when the command runs; see attestation.ts).
 *
 * Every option may also come from an environment variable `CCNODES_ATTESTATION_<NAME>` (flags win).
 * The key-encryption key comes from `CCNODES_ATTESTATION_KEK` (base64 or hex, 32 bytes) or from
 * `<data-dir>/kek` (created 0600). Logs are JSON lines on standard output; the service stops on
 * SIGTERM/SIGINT. Exit status: 0 after a clean stop, 2 for bad options or unusable files/ports.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import pino from 'pino';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  staticCollateral,
  type AttestationService,
  type AttestationServiceConfig,
  type CollateralProvider,
} from '../attestation/index.ts';
import {
  CollateralCache,
  PcsClient,
  PcsError,
  loadCollateralPath,
  parseCollateralApiChoice,
} from '../collateral-source/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';

export interface ServeFlags {
  listen?: string;
  dataDir?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  forceInsecure?: boolean;
  collateral?: string;
  trustSimulatedRoot?: string;
  adminTokenFile?: string;
  databaseUrl?: string;
  tokenLifetime?: string;
  isolated?: boolean;
  policySignerCert?: string[];
  acceptTcbStatus?: string;
  dangerouslyAllowDebugEnclaves?: boolean;
  pcsTimeoutMs?: string;
  pcsRetries?: string;
  collateralApi?: string;
  rootCaCrlUrl?: string;
  logLevel?: string;
  requestTimeout?: string;
  headerTimeout?: string;
  idleTimeout?: string;
  maxConnections?: string;
  policyTimeout?: string;
  draftRateLimit?: string;
  draftBurst?: string;
  allowInsecureDataDir?: boolean;
  auditMaxAge?: string;
  auditMaxRows?: string;
  auditAggregateWindow?: string;
}

/** Flag name → environment variable suffix. */
const ENV: Readonly<Record<keyof ServeFlags, string>> = {
  listen: 'LISTEN',
  dataDir: 'DATA_DIR',
  publicUrl: 'PUBLIC_URL',
  tlsCert: 'TLS_CERT',
  tlsKey: 'TLS_KEY',
  insecureHttp: 'INSECURE_HTTP',
  forceInsecure: 'FORCE_INSECURE',
  collateral: 'COLLATERAL',
  trustSimulatedRoot: 'TRUST_SIMULATED_ROOT',
  adminTokenFile: 'ADMIN_TOKEN_FILE',
  databaseUrl: 'DATABASE_URL',
  tokenLifetime: 'TOKEN_LIFETIME',
  isolated: 'ISOLATED',
  policySignerCert: 'POLICY_SIGNER_CERT',
  acceptTcbStatus: 'ACCEPT_TCB_STATUS',
  dangerouslyAllowDebugEnclaves: 'DANGEROUSLY_ALLOW_DEBUG_ENCLAVES',
  pcsTimeoutMs: 'PCS_TIMEOUT_MS',
  pcsRetries: 'PCS_RETRIES',
  collateralApi: 'COLLATERAL_API',
  rootCaCrlUrl: 'ROOT_CA_CRL_URL',
  logLevel: 'LOG_LEVEL',
  requestTimeout: 'REQUEST_TIMEOUT',
  headerTimeout: 'HEADER_TIMEOUT',
  idleTimeout: 'IDLE_TIMEOUT',
  maxConnections: 'MAX_CONNECTIONS',
  policyTimeout: 'POLICY_TIMEOUT',
  draftRateLimit: 'DRAFT_RATE_LIMIT',
  draftBurst: 'DRAFT_BURST',
  allowInsecureDataDir: 'ALLOW_INSECURE_DATA_DIR',
  auditMaxAge: 'AUDIT_MAX_AGE',
  auditMaxRows: 'AUDIT_MAX_ROWS',
  auditAggregateWindow: 'AUDIT_AGGREGATE_WINDOW',
};

const BOOLEAN_FLAGS: ReadonlySet<keyof ServeFlags> = new Set([
  'allowInsecureDataDir',
  'insecureHttp',
  'forceInsecure',
  'isolated',
  'dangerouslyAllowDebugEnclaves',
]);

/** Fills unset flags from `CCNODES_ATTESTATION_*`. */
function withEnv(flags: ServeFlags, env: CliContext['env']): ServeFlags {
  const out: Record<string, unknown> = { ...flags };
  for (const [key, suffix] of Object.entries(ENV) as [keyof ServeFlags, string][]) {
    const value = env[`CCNODES_ATTESTATION_${suffix}`];
    if (out[key] !== undefined || value === undefined || value === '') continue;
    if (BOOLEAN_FLAGS.has(key)) out[key] = /^(1|true|yes|on)$/i.test(value);
    else if (key === 'policySignerCert') out[key] = value.split(',').map((s) => s.trim());
    else out[key] = value;
  }
  return out;
}

/** Parses `host:port` / `[v6]:port`. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--listen: expected host:port (e.g. 127.0.0.1:8443), got "${text}"`, {
      option: '--listen',
    });
  }
  return { host, port };
}

/** True for loopback host names and addresses. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** `8h`, `30m`, `3600s`, `3600` → seconds. */
export function parseLifetime(text: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (m === null)
    throw new UsageError(`--token-lifetime: expected e.g. 8h, 30m, 3600 (seconds), got "${text}"`);
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ''] ?? 1;
  const seconds = Number(m[1]) * mult;
  if (seconds < 60 || seconds > 366 * 86400)
    throw new UsageError('--token-lifetime: must be between 1 minute and 1 year');
  return seconds;
}

/** `30d`, `12h`, `90m`, `60s`, `60` (seconds) → milliseconds, within [min, max] seconds. */
function durationFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  const seconds =
    m === null ? NaN : Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ''] ?? 1);
  if (!(seconds >= min && seconds <= max)) {
    throw new UsageError(
      `${flag}: expected a duration such as 30d, 12h, 60s from ${min} s to ${max} s, got "${value}"`,
      {
        option: flag,
      },
    );
  }
  return seconds * 1000;
}

/** Audit retention and aggregation from the flags (unset ones keep the defaults). */
function auditOptions(flags: ServeFlags): Partial<AttestationServiceConfig> {
  const maxAgeMs = durationFlag(flags.auditMaxAge, '--audit-max-age', 60, 3650 * 86400);
  const maxRows = intFlag(flags.auditMaxRows, '--audit-max-rows', 1000, 1_000_000_000);
  const aggregateWindowMs = durationFlag(flags.auditAggregateWindow, '--audit-aggregate-window', 0, 86400);
  return {
    ...(flags.allowInsecureDataDir === true ? { allowInsecureDataDir: true } : {}),
    audit: {
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
      ...(maxRows === undefined ? {} : { maxRows }),
      ...(aggregateWindowMs === undefined ? {} : { aggregateWindowMs }),
    },
  };
}

/** An integer flag within [min, max], or undefined when not given. */
function intFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(`${flag}: expected an integer from ${min} to ${max}, got "${value}"`, {
      option: flag,
    });
  }
  return n;
}

/** Connection bounds, policy deadline and draft rate limit from the flags (unset ones keep the defaults). */
function availabilityOptions(flags: ServeFlags): Partial<AttestationServiceConfig> {
  const ms = (v: string | undefined, flag: string): number | undefined => intFlag(v, flag, 100, 3_600_000);
  const request = ms(flags.requestTimeout, '--request-timeout');
  const header = ms(flags.headerTimeout, '--header-timeout');
  const idle = ms(flags.idleTimeout, '--idle-timeout');
  const maxConnections = intFlag(flags.maxConnections, '--max-connections', 1, 1_000_000);
  if (header !== undefined && header > (request ?? 30_000)) {
    throw new UsageError('--header-timeout must not be longer than --request-timeout', {
      option: '--header-timeout',
    });
  }
  const policyTimeout = intFlag(flags.policyTimeout, '--policy-timeout', 10, 600_000);
  const perMinute = intFlag(flags.draftRateLimit, '--draft-rate-limit', 0, 1_000_000);
  const burst = intFlag(flags.draftBurst, '--draft-burst', 1, 1_000_000);
  return {
    httpLimits: {
      ...(request === undefined ? {} : { requestTimeoutMs: request }),
      ...(header === undefined ? {} : { headerTimeoutMs: header }),
      ...(idle === undefined ? {} : { idleTimeoutMs: idle }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
    },
    policyEvaluation: {
      prewarm: true,
      ...(policyTimeout === undefined ? {} : { deadlineMs: policyTimeout }),
    },
    draftRateLimit: { perMinute: perMinute ?? 30, burst: burst ?? 10 },
  };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new IoError(
      `cannot read ${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        details: { path },
        cause,
      },
    );
  }
}

async function collateralProvider(source: string, flags: ServeFlags): Promise<CollateralProvider> {
  if (/^https?:\/\//i.test(source)) {
    let client: PcsClient;
    try {
      client = new PcsClient({
        baseUrl: source,
        api: parseCollateralApiChoice(flags.collateralApi ?? 'auto'),
        ...(flags.rootCaCrlUrl === undefined ? {} : { rootCaCrlUrl: flags.rootCaCrlUrl }),
        ...(flags.pcsTimeoutMs === undefined ? {} : { timeoutMs: Number(flags.pcsTimeoutMs) }),
        ...(flags.pcsRetries === undefined ? {} : { retries: Number(flags.pcsRetries) }),
      });
    } catch (cause) {
      // A base URL in no accepted form (or a bad --collateral-api / --root-ca-crl-url): usage, exit 2.
      if (cause instanceof PcsError)
        throw new UsageError(`--collateral: ${cause.message} (${cause.code})`, {
          ...cause.details,
          pcsCode: cause.code,
        });
      throw cause;
    }
    const cache = new CollateralCache({ client });
    return (req) => cache.get(req.fmspc, req.ca, req.tee);
  }
  if (flags.collateralApi !== undefined || flags.rootCaCrlUrl !== undefined)
    throw new UsageError(
      '--collateral-api and --root-ca-crl-url apply to a --collateral URL, not to offline collateral',
    );
  try {
    return staticCollateral(await loadCollateralPath(source));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot load collateral ${source}: ${reason}`, { details: { path: source }, cause });
  }
}

/** The stream a daemon logs to: JSON lines through ctx.stdout. */
function logStream(ctx: CliContext): { write: (s: string) => void } {
  return {
    write: (s) => {
      ctx.stdout(s);
    },
  };
}

export async function serve(raw: ServeFlags, ctx: CliContext): Promise<void> {
  const flags = withEnv(raw, ctx.env);
  if (flags.dataDir === undefined)
    throw new UsageError('--data-dir (or CCNODES_ATTESTATION_DATA_DIR) is required');
  if (flags.collateral === undefined) {
    throw new UsageError('--collateral <PCCS/PCS URL | offline bundle or directory> is required');
  }
  const { host, port: wantedPort } = parseListen(flags.listen ?? '127.0.0.1:8443');
  const tls = flags.tlsCert !== undefined || flags.tlsKey !== undefined;
  if (tls && (flags.tlsCert === undefined || flags.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (!tls && flags.insecureHttp !== true) {
    throw new UsageError('serve needs --tls-cert/--tls-key, or --insecure-http for plain HTTP on loopback');
  }
  if (!tls && !isLoopback(host) && flags.forceInsecure !== true) {
    throw new UsageError(
      `refusing plain HTTP on non-loopback address ${host}: tokens and secrets would travel unencrypted (add --force-insecure to override)`,
    );
  }
  const level = flags.logLevel ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new UsageError(`--log-level: unknown level "${level}"`);
  }
  const logger = pino({ name: 'ccnodes-attestation', level }, logStream(ctx));
  const tokenLifetimeSeconds =
    flags.tokenLifetime === undefined ? undefined : parseLifetime(flags.tokenLifetime);
  const adminToken =
    flags.adminTokenFile === undefined
      ? undefined
      : readText(flags.adminTokenFile, 'admin token file').trim();
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new UsageError('the admin token must be at least 16 characters');
  }
  const simRoot =
    flags.trustSimulatedRoot === undefined ? undefined : readText(flags.trustSimulatedRoot, 'simulated root');
  const signerCerts = (flags.policySignerCert ?? []).map((p) =>
    pemToDer(readText(p, 'policy signer certificate'), p),
  );
  const accepted = flags.acceptTcbStatus
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const https = tls
    ? { cert: readText(flags.tlsCert ?? '', 'TLS certificate'), key: readText(flags.tlsKey ?? '', 'TLS key') }
    : undefined;
  const port = wantedPort === 0 ? await freePort(host) : wantedPort;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const publicUrl = flags.publicUrl ?? `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  const verifier = createDcapEvidenceVerifier({
    collateral: await collateralProvider(flags.collateral, flags),
    ...(simRoot === undefined ? {} : { trustSimulatedRoot: simRoot }),
    ...(flags.dangerouslyAllowDebugEnclaves === true ? { dangerous: { allowDebugEnclave: true } } : {}),
  });
  let service: AttestationService;
  try {
    service = await createAttestationService({
      dataDir: flags.dataDir,
      publicUrl,
      verifier,
      simulationMode: simRoot !== undefined,
      loggerInstance: logger,
      ...(flags.databaseUrl === undefined ? {} : { databaseUrl: flags.databaseUrl }),
      ...(ctx.env['CCNODES_ATTESTATION_KEK'] === undefined
        ? {}
        : { kekText: ctx.env['CCNODES_ATTESTATION_KEK'] }),
      ...(adminToken === undefined ? {} : { adminToken }),
      ...(tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds }),
      ...(flags.isolated === true ? { isolated: true, policySignerCerts: signerCerts } : {}),
      ...(accepted === undefined ? {} : { acceptedTcbStatuses: accepted }),
      ...(https === undefined ? {} : { https }),
      ...availabilityOptions(flags),
      ...auditOptions(flags),
    });
  } catch (err) {
    if (isCcnodesError(err) && (err.code === 'ERR_ATTEST_CONFIG' || err.code.startsWith('ERR_STORAGE'))) {
      throw new UsageError(err.message, { cause: err.code });
    }
    throw err;
  }
  try {
    await service.app.listen({ host, port });
  } catch (cause) {
    await service.close();
    throw new IoError(
      `cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  logger.info(
    {
      url: publicUrl,
      storage: service.storage.backend,
      simulationMode: simRoot !== undefined,
      isolated: flags.isolated === true,
      collateral: flags.collateral,
      adminApi: adminToken !== undefined,
    },
    'attestation service ready',
  );
  if (simRoot !== undefined)
    logger.warn('trusting the ccnodes SIMULATED root: tokens for simulated evidence say x-ccnodes-simulated');
  await untilAborted(ctx.signal);
  logger.info({ reason: String(ctx.signal.reason) }, 'stopping');
  await service.close();
}

function pemToDer(pem: string, path: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (m === null) throw new UsageError(`${path}: not a PEM certificate`);
  return new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
}

async function freePort(host: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => {
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
  });
}

/** Registers `ccnodes attestation serve`. */
