/**
 * Assembles a running service from configuration: data directory (0700), key-encryption key,
 * storage (SQLite or PostgreSQL, migrated), signing keys, and the Fastify app. Used by
 * `ccnodes attestation serve` and by tests; `close()` releases everything it opened.
 */
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp, normalizeIssuer, type AttestationAppDeps } from './app.ts';
import { loadOrCreateKekFile, parseKek, type KeyEncryptionKey } from './kek.ts';
import { PolicyService } from './policy-service.ts';
import { SigningKeyRing } from './signing-keys.ts';
import { openStorage, type AttestationStorage } from './storage/index.ts';
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
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const kek = config.kekText !== undefined ? parseKek(config.kekText) : loadOrCreateKekFile(config.dataDir);
  const storage = await openStorage({
    dataDir: config.dataDir,
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
  });
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
    const app = buildApp({ ...config, storage, kek, keys, issuer });
    return {
      app,
      storage,
      keys,
      kek,
      issuer,
      close: async () => {
        await app.close();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
}
