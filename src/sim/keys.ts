/**
 * Key material of the simulated DCAP platform: one 32-byte master secret per simulation, from which
 * every simulated key (root CA, intermediates, TCB signing, PCK keys, attestation keys, PPIDs,
 * serial numbers) is derived with HKDF-SHA256 under a distinct label.
 *
 * The master secret comes from, in this order:
 * - a test seed (`seed`): master = HMAC-SHA256("ccnodes sim seed v1", seed), so one seed always
 *   gives the same keys;
 * - a data directory (`dataDir`): `<dataDir>/sim-dcap/master.key`, 32 random bytes created on first
 *   use with mode 0600 in a 0700 directory; a file readable by group or others is refused;
 * - otherwise 32 fresh random bytes (nothing persisted).
 *
 * P-256 private scalars are derived with the FIPS 186-4 B.4.1 "extra random bits" method (40 bytes
 * of HKDF output reduced modulo n-1, plus one). Signatures over certificates, CRLs and collateral
 * use deterministic ECDSA (RFC 6979) so that a seed also fixes those bytes.
 */
import {
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import {
  chmodSync,
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SimConfigError, SimKeyStoreError } from './errors.ts';

/** Order n of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Size of the master secret and of its file. */
export const SIM_MASTER_SECRET_SIZE = 32;
/** Sub-directory of `--data-dir` holding the simulated DCAP key material. */
export const SIM_DCAP_DIR = 'sim-dcap';
/** File name of the master secret inside {@link SIM_DCAP_DIR}. */
export const SIM_MASTER_KEY_FILE = 'master.key';

const SEED_KEY = 'ccnodes sim seed v1';
const HKDF_SALT = 'ccnodes sim-dcap v1';

/** Where the simulation keys come from. */
export interface SimKeySourceOptions {
  /** Test seed: the same seed always yields the same keys. Takes precedence over `dataDir`. */
  readonly seed?: string;
  /** Data directory: the master secret is persisted in `<dataDir>/sim-dcap/master.key` (0600). */
  readonly dataDir?: string;
}

/** An ECDSA P-256 key pair of the simulation. */
export interface SimEcKey {
  /** Derivation label, e.g. `pki/root`. */
  readonly label: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public key as raw X‖Y (64 bytes, big-endian), the quote's encoding. */
  readonly publicRaw: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** Deterministic ECDSA-SHA256 (RFC 6979) over `data`; raw r‖s, 64 bytes. */
  signDeterministic(data: Uint8Array): Uint8Array;
  /** Randomised ECDSA-SHA256 (OpenSSL) over `data`; raw r‖s, 64 bytes. */
  sign(data: Uint8Array): Uint8Array;
}

/** The master secret of one simulation and the derivations from it. */
export class SimKeySource {
  /** How the master secret was obtained. */
  readonly origin: 'seed' | 'data-dir' | 'ephemeral';
  /** Path of the persisted master secret, when `origin` is `data-dir`. */
  readonly path: string | undefined;
  readonly #master: Uint8Array;
  readonly #keys = new Map<string, SimEcKey>();

  private constructor(master: Uint8Array, origin: SimKeySource['origin'], path?: string) {
    this.#master = master;
    this.origin = origin;
    this.path = path;
  }

  /**
   * Opens the key source described by `options` (see the module comment for the precedence).
   * @throws SimConfigError `ERR_SIM_SEED` for an empty seed.
   * @throws SimKeyStoreError when the data directory's key file is unusable.
   */
  static open(options: SimKeySourceOptions = {}): SimKeySource {
    if (options.seed !== undefined) {
      if (typeof options.seed !== 'string' || options.seed.length === 0) {
        throw new SimConfigError('ERR_SIM_SEED', 'seed: must be a non-empty string', { field: 'seed' });
      }
      const master = createHmac('sha256', SEED_KEY).update(options.seed, 'utf8').digest();
      return new SimKeySource(new Uint8Array(master), 'seed');
    }
    if (options.dataDir !== undefined) {
      const path = join(options.dataDir, SIM_DCAP_DIR, SIM_MASTER_KEY_FILE);
      return new SimKeySource(
        loadOrCreateMaster(join(options.dataDir, SIM_DCAP_DIR), path),
        'data-dir',
        path,
      );
    }
    return new SimKeySource(new Uint8Array(randomBytes(SIM_MASTER_SECRET_SIZE)), 'ephemeral');
  }

  /** `length` bytes bound to `label` (HKDF-SHA256 of the master secret). */
  derive(label: string, length: number): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.#master, HKDF_SALT, label, length));
  }

  /** The P-256 key pair for `label` (cached: one label, one key). */
  ecKey(label: string): SimEcKey {
    let key = this.#keys.get(label);
    if (key === undefined) {
      key = p256KeyFromScalar(label, scalarFromBytes(this.derive(`p256/${label}`, 40)));
      this.#keys.set(label, key);
    }
    return key;
  }
}

function loadOrCreateMaster(dir: string, path: string): Uint8Array {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new SimKeyStoreError('ERR_SIM_KEY_FILE_IO', `cannot create ${dir}: ${reason(cause)}`, {
      details: { path: dir },
      cause,
    });
  }
  // Write the secret to a private temporary file, then hard-link it into place: the link either
  // creates the complete file or fails because another process won the race (then read theirs).
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const master = new Uint8Array(randomBytes(SIM_MASTER_SECRET_SIZE));
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, master);
      chmodSync(tmp, 0o600);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return master;
  } catch (cause) {
    if (!isErrno(cause, 'EEXIST')) {
      throw new SimKeyStoreError('ERR_SIM_KEY_FILE_IO', `cannot create ${path}: ${reason(cause)}`, {
        details: { path },
        cause,
      });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  return readMaster(path);
}

function readMaster(path: string): Uint8Array {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (cause) {
    throw new SimKeyStoreError('ERR_SIM_KEY_FILE_IO', `cannot read ${path}: ${reason(cause)}`, {
      details: { path },
      cause,
    });
  }
  if (!stat.isFile()) {
    throw new SimKeyStoreError('ERR_SIM_KEY_FILE_INVALID', `${path} is not a regular file`, {
      details: { path },
    });
  }
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new SimKeyStoreError(
      'ERR_SIM_KEY_FILE_PERMISSIONS',
      `${path} has mode ${mode}; simulated key files must not be readable by group or others (chmod 600)`,
      { details: { path, mode } },
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new SimKeyStoreError('ERR_SIM_KEY_FILE_IO', `cannot read ${path}: ${reason(cause)}`, {
      details: { path },
      cause,
    });
  }
  if (bytes.length !== SIM_MASTER_SECRET_SIZE) {
    throw new SimKeyStoreError(
      'ERR_SIM_KEY_FILE_INVALID',
      `${path} holds ${bytes.length} bytes, expected ${SIM_MASTER_SECRET_SIZE}`,
      { details: { path, size: bytes.length } },
    );
  }
  return new Uint8Array(bytes);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** FIPS 186-4 B.4.1: c mod (n-1) + 1, for c of at least 320 bits. */
function scalarFromBytes(bytes: Uint8Array): bigint {
  return (bytesToBigInt(bytes) % (P256_N - 1n)) + 1n;
}

/**
 * The P-256 key pair with private scalar `d` (1 ≤ d < n). Exported for tests and for callers that
 * already hold a scalar.
 */
export function p256KeyFromScalar(label: string, d: bigint): SimEcKey {
  if (d <= 0n || d >= P256_N) throw new RangeError('P-256 private scalar out of range');
  const dBytes = bigIntToBytes(d, 32);
  const point = pointFor(dBytes);
  const x = point.subarray(1, 33);
  const y = point.subarray(33, 65);
  const jwk = { kty: 'EC', crv: 'P-256', d: b64url(dBytes), x: b64url(x), y: b64url(y) };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const publicRaw = new Uint8Array(point.subarray(1));
  return {
    label,
    privateKey,
    publicKey,
    publicRaw,
    spki,
    signDeterministic: (data) => ecdsaSignRfc6979(d, data),
    sign: (data) => new Uint8Array(nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

/** Uncompressed point k·G (65 bytes) computed by OpenSSL through ECDH. */
function pointFor(scalar: Uint8Array): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(scalar);
  return ecdh.getPublicKey();
}

/**
 * Deterministic ECDSA P-256 with SHA-256 (RFC 6979 §3.2): the nonce k comes from HMAC-DRBG over the
 * private key and the message hash, so the same key and message always give the same signature.
 * Returns raw r‖s (64 bytes).
 */
export function ecdsaSignRfc6979(d: bigint, message: Uint8Array): Uint8Array {
  const h1 = createHash('sha256').update(message).digest();
  const z = bytesToBigInt(h1) % P256_N;
  const x = bigIntToBytes(d, 32);
  const h = bigIntToBytes(z, 32);
  let v: Buffer = Buffer.alloc(32, 0x01);
  let k: Buffer = Buffer.alloc(32, 0x00);
  k = hmac(k, v, [0x00], x, h);
  v = hmac(k, v);
  k = hmac(k, v, [0x01], x, h);
  v = hmac(k, v);
  for (;;) {
    v = hmac(k, v);
    const nonce = bytesToBigInt(v);
    if (nonce >= 1n && nonce < P256_N) {
      const point = pointFor(v);
      const r = bytesToBigInt(point.subarray(1, 33)) % P256_N;
      if (r !== 0n) {
        const s = (modInverse(nonce, P256_N) * ((z + r * d) % P256_N)) % P256_N;
        if (s !== 0n) {
          const out = new Uint8Array(64);
          out.set(bigIntToBytes(r, 32), 0);
          out.set(bigIntToBytes(s, 32), 32);
          return out;
        }
      }
    }
    k = hmac(k, v, [0x00]);
    v = hmac(k, v);
  }
}

function hmac(key: Uint8Array, ...parts: (Uint8Array | number[])[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part instanceof Uint8Array ? part : Uint8Array.from(part));
  return mac.digest();
}

function modInverse(a: bigint, m: bigint): bigint {
  // Extended Euclid; m is prime and 0 < a < m.
  let [oldR, r] = [a, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function bigIntToBytes(value: bigint, length: number): Uint8Array {
  return new Uint8Array(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
