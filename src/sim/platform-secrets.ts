/**
 * The secrets of one simulated SGX platform: the Root Seal Key, the Root Provisioning Key and
 * OWNEREPOCH (the hardware keeps the first two in fuses). Random by default, persisted with mode
 * 0600 in a data directory so sealed data survives restarts, or derived from a seed in tests.
 */
import { createHmac, randomBytes } from 'node:crypto';
// `fs.promises` is read where used, so that a process that opens no data directory (a launcher
// with a seed or an AESM socket) does not load it.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SimCpuError } from './enclave-errors.ts';

/** Platform secrets. Never logged, never in error details. */
export interface PlatformSecrets {
  /** Root Seal Key (16): root of SEAL, REPORT, EINITTOKEN and PROVISION_SEAL keys. */
  readonly rootSealKey: Uint8Array;
  /** Root Provisioning Key (16): root of PROVISION keys. */
  readonly rootProvisioningKey: Uint8Array;
  /** OWNEREPOCH (16). */
  readonly ownerEpoch: Uint8Array;
}

/** File name of the persisted secrets inside the data directory. */
export const PLATFORM_SECRETS_FILE = 'sgx-platform-secrets.json';

function derive(seed: string, label: string, size: number): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', `ccnodes-sim-platform:${seed}`).update(label).digest().subarray(0, size),
  );
}

/** Deterministic secrets from a seed (tests, reproducible demos). */
export function platformSecretsFromSeed(seed: string): PlatformSecrets {
  return {
    rootSealKey: derive(seed, 'root-seal-key', 16),
    rootProvisioningKey: derive(seed, 'root-provisioning-key', 16),
    ownerEpoch: derive(seed, 'owner-epoch', 16),
  };
}

/** Fresh random secrets. */
export function randomPlatformSecrets(): PlatformSecrets {
  return {
    rootSealKey: new Uint8Array(randomBytes(16)),
    rootProvisioningKey: new Uint8Array(randomBytes(16)),
    ownerEpoch: new Uint8Array(randomBytes(16)),
  };
}

function secretsError(message: string, path: string, cause?: unknown): SimCpuError {
  return new SimCpuError('ERR_SIM_CPU_SECRETS', message, { path }, cause);
}

function parseSecrets(text: string, path: string): PlatformSecrets {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (cause) {
    throw secretsError(`${path}: not JSON`, path, cause);
  }
  const get = (k: string): Uint8Array => {
    const v = (o as Record<string, unknown> | null)?.[k];
    if (typeof v !== 'string' || !/^[0-9a-f]{32}$/.test(v))
      throw secretsError(`${path}: field ${k} must be 32 hex digits`, path);
    return new Uint8Array(Buffer.from(v, 'hex'));
  };
  if ((o as Record<string, unknown> | null)?.['version'] !== 1)
    throw secretsError(`${path}: unsupported version`, path);
  return {
    rootSealKey: get('rootSealKey'),
    rootProvisioningKey: get('rootProvisioningKey'),
    ownerEpoch: get('ownerEpoch'),
  };
}

/**
 * Loads the platform secrets from `dataDir`, creating them (random, mode 0600, directory 0700) on
 * first use. Refuses a secrets file that group or others can read or write.
 */
export async function loadOrCreatePlatformSecrets(dataDir: string): Promise<PlatformSecrets> {
  const path = join(dataDir, PLATFORM_SECRETS_FILE);
  let mode: number | undefined;
  try {
    mode = (await fsp.stat(path)).mode;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
      throw secretsError(`cannot stat ${path}`, path, cause);
  }
  if (mode !== undefined) {
    if ((mode & 0o077) !== 0) {
      throw secretsError(
        `${path} has mode ${(mode & 0o777).toString(8)}; platform secrets must be 0600`,
        path,
      );
    }
    return parseSecrets(await fsp.readFile(path, 'utf8'), path);
  }
  const secrets = randomPlatformSecrets();
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const body = JSON.stringify(
    {
      version: 1,
      note: 'ccnodes simulated SGX platform secrets (NOT FOR PRODUCTION). Keep private: they decrypt sealed data.',
      rootSealKey: hex(secrets.rootSealKey),
      rootProvisioningKey: hex(secrets.rootProvisioningKey),
      ownerEpoch: hex(secrets.ownerEpoch),
    },
    null,
    2,
  );
  try {
    await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path, `${body}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreatePlatformSecrets(dataDir);
    throw secretsError(`cannot write ${path}`, path, cause);
  }
  return secrets;
}
