/**
 * Assembles a running service from configuration: data directory (0700), key-encryption key,
 * storage (SQLite or PostgreSQL, migrated), signing keys, and the Fastify app. Used by
 * `ccnodes attestation serve` and by tests; `close()` releases everything it opened.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, normalizeIssuer, type AttestationAppDeps } from './app.ts';
import { loadOrCreateKekFile, parseKek, type KeyEncryptionKey } from './kek.ts';
import { PolicyService } from './policy-service.ts';
import { SigningKeyRing } from './signing-keys.ts';
import {
  AuditRetentionRunner,
  AuditSampler,
  DEFAULT_AUDIT_AGGREGATE_WINDOW_MS,
  DEFAULT_AUDIT_MAX_AGE_MS,
  DEFAULT_AUDIT_MAX_ROWS,
  RecordIntegrity,
  openStorage,
  prepareDataDir,
  type AttestationStorage,
} from './storage/index.ts';
import { createMetrics } from './metrics.ts';
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from './app.ts';
import { AttestConfigError } from './errors.ts';

/** Service configuration (the CLI maps flags and environment variables onto this). */
export interface AttestationServiceConfig extends Omit<
  AttestationAppDeps,
  'storage' | 'kek' | 'keys' | 'issuer'
> {
  /** Holds `kek` (unless `kekText` is given) and `attestation.db` (unless `databaseUrl`). */
  readonly dataDir: string;
  /** Public base URL (token `iss`). */
  readonly publicUrl: string;
  readonly databaseUrl?: string;
  /** KEK as base64 or hex text (e.g. from an environment variable) instead of `<dataDir>/kek`. */
  readonly kekText?: string;
  /** Isolated mode: certificates (DER) registered as policy signers on first start. */
  readonly policySignerCerts?: readonly Uint8Array[];
  /** Rotate the signing key when older than this many seconds (default 30 days). */
  readonly keyRotationSeconds?: number;
  /** Use a data directory that group or others can access (logged) instead of refusing to start. */
  readonly allowInsecureDataDir?: boolean;
  /** Audit retention and aggregation (defaults: 30 days, 1,000,000 lines, 60 s window; 0 = no aggregation). */
  readonly audit?: {
    readonly maxAgeMs?: number;
    readonly maxRows?: number;
    readonly pruneIntervalMs?: number;
    readonly aggregateWindowMs?: number;
  };
}

/** A wired service. */
export interface AttestationService {
  readonly app: FastifyInstance;
  readonly storage: AttestationStorage;
  readonly keys: SigningKeyRing;
  readonly kek: KeyEncryptionKey;
  readonly issuer: string;
  /** Closes the HTTP app, then storage. */
  close(): Promise<void>;
}

/** Opens storage and keys and builds the app (not listening yet). */
export async function createAttestationService(
  config: AttestationServiceConfig,
): Promise<AttestationService> {
  const issuer = normalizeIssuer(config.publicUrl);
  const dataDir = prepareDataDir(config.dataDir, config.allowInsecureDataDir === true);
  const kek = config.kekText !== undefined ? parseKek(config.kekText) : loadOrCreateKekFile(config.dataDir);
  const metrics = config.metrics ?? createMetrics();
  // Every refused record is counted and logged (the logger exists once the app is built; a refusal
  // before that fails start-up with the error itself).
  let log: FastifyBaseLogger | undefined;
  const integrity = new RecordIntegrity(kek);
  integrity.onFailure((f) => {
    metrics.integrityFailures.inc({ kind: f.kind });
    log?.error(
      { code: 'ERR_STORAGE_INTEGRITY', kind: f.kind, name: f.name, reason: f.reason },
      `stored ${f.kind} ${JSON.stringify(f.name)} failed its integrity check: ${f.reason}`,
    );
  });
  const storage = await openStorage({
    dataDir: config.dataDir,
    integrity,
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
  });
  let sampler: AuditSampler | undefined;
  let retention: AuditRetentionRunner | undefined;
  try {
    const now = config.now ?? ((): Date => new Date());
    const keys = await SigningKeyRing.open({
      storage,
      kek,
      issuer,
      tokenLifetimeSeconds: config.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      now,
      ...(config.keyRotationSeconds === undefined ? {} : { rotateAfterSeconds: config.keyRotationSeconds }),
    });
    if (config.isolated === true && config.policySignerCerts !== undefined) {
      const seeder = new PolicyService({
        storage,
        isolated: true,
        simulationMode: config.simulationMode,
        now,
      });
      if ((await storage.listPolicyCertificates()).length === 0)
        await seeder.seedCertificates(config.policySignerCerts);
    }
    if (config.isolated === true && (await storage.listPolicyCertificates()).length === 0) {
      throw new AttestConfigError('isolated mode needs at least one policy management certificate', {
        field: 'policy-signer-cert',
      });
    }
    sampler = new AuditSampler(storage, {
      windowMs: config.audit?.aggregateWindowMs ?? DEFAULT_AUDIT_AGGREGATE_WINDOW_MS,
      now,
      onAggregated: (action) => {
        metrics.auditAggregated.inc({ action });
      },
      onError: (err) => {
        log?.error({ err }, 'writing an aggregated audit line failed');
      },
    });
    const app = buildApp({ ...config, storage, kek, keys, issuer, metrics, auditSampler: sampler });
    log = app.log;
    if (dataDir.warning !== undefined) app.log.warn({ path: config.dataDir }, dataDir.warning);
    if (integrity.adoptedRecords > 0)
      app.log.warn(
        { records: integrity.adoptedRecords },
        `storage upgraded: tagged ${integrity.adoptedRecords} existing records with the KEK-derived integrity MAC (they are trusted as they were at this upgrade)`,
      );
    retention = new AuditRetentionRunner(storage, {
      maxAgeMs: config.audit?.maxAgeMs ?? DEFAULT_AUDIT_MAX_AGE_MS,
      maxRows: config.audit?.maxRows ?? DEFAULT_AUDIT_MAX_ROWS,
      ...(config.audit?.pruneIntervalMs === undefined ? {} : { intervalMs: config.audit.pruneIntervalMs }),
      now,
      onPruned: (rows) => {
        metrics.auditPruned.inc(rows);
        app.log.info({ rows }, 'audit retention deleted old lines');
      },
      onError: (err) => {
        app.log.error({ err }, 'audit retention failed');
      },
    });
    await retention.start();
    const stopAudit = async (): Promise<void> => {
      await retention?.stop();
      await sampler?.close();
    };
    return {
      app,
      storage,
      keys,
      kek,
      issuer,
      close: async () => {
        await app.close();
        await stopAudit();
        await storage.close();
      },
    };
  } catch (err) {
    await retention?.stop().catch(() => undefined);
    await sampler?.close().catch(() => undefined);
    await storage.close().catch(() => undefined);
    throw err;
  }
}
