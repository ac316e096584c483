/**
 * Key-encryption key (KEK): the one secret that protects everything else at rest (token signing
 * keys, stored secrets). AES-256-GCM with a per-record random IV and the record's purpose as
 * additional authenticated data, so a sealed value cannot be moved to another row unnoticed.
 *
 * Sources, in order: an explicit 32-byte key (the CLI passes `CCNODES_ATTESTATION_KEK` here), or the
 * file `<dataDir>/kek` (created 0600 on first start; refused if readable by group or others).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { StorageError } from './errors.ts';

const VERSION = 1;
const IV_LEN = 12;
const TAG_LEN = 16;

/** Seals and opens records under the KEK. */
export class KeyEncryptionKey {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) {
      throw new StorageError('ERR_STORAGE_KEK', `key-encryption key must be 32 bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
  }

  /**
   * A 32-byte key for another purpose, derived with HKDF-SHA-256 (`info` names the purpose), so the
   * KEK itself is only ever used for AES-GCM sealing.
   */
  deriveKey(info: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), Buffer.from(info, 'utf8'), 32));
  }

  /** Encrypts `plaintext`; `purpose` (e.g. `signing-key:<kid>`) is bound as AAD. */
  seal(plaintext: Uint8Array, purpose: string): Uint8Array {
    const iv = randomBytes(IV_LEN);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ct]));
  }

  /** Decrypts a sealed record; fails closed with `ERR_STORAGE_KEK` on any mismatch. */
  open(sealed: Uint8Array, purpose: string): Uint8Array {
    const buf = Buffer.from(sealed);
    if (buf.length < 1 + IV_LEN + TAG_LEN || buf[0] !== VERSION) {
      throw new StorageError('ERR_STORAGE_KEK', `sealed record for ${purpose} is malformed`, { purpose });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(1, 1 + IV_LEN));
      decipher.setAAD(Buffer.from(purpose, 'utf8'));
      decipher.setAuthTag(buf.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN));
      return new Uint8Array(
        Buffer.concat([decipher.update(buf.subarray(1 + IV_LEN + TAG_LEN)), decipher.final()]),
      );
    } catch (cause) {
      throw new StorageError(
        'ERR_STORAGE_KEK',
        `cannot open sealed record for ${purpose}: wrong key-encryption key or tampered data`,
        { purpose },
        cause,
      );
    }
  }
}

/** Parses a KEK given as base64/base64url or 64 hex characters. */
export function parseKek(text: string): KeyEncryptionKey {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  return new KeyEncryptionKey(bytes);
}

/**
 * Loads `<dataDir>/kek`, creating it (0600, written atomically) when absent. Refuses a file that
 * group or others may read.
 */
export function loadOrCreateKekFile(dataDir: string): KeyEncryptionKey {
  const path = join(dataDir, 'kek');
  if (!existsSync(path)) {
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new StorageError(
      'ERR_STORAGE_KEK',
      `${path} is accessible by group or others (mode ${mode.toString(8)}); chmod 600 it`,
      { path },
    );
  }
  return parseKek(readFileSync(path, 'utf8'));
}
