/**
 * Integrity of stored state. Whoever can write the database (a shared PostgreSQL, a copied SQLite
 * file) must not be able to loosen what the service enforces, so every record the service trusts —
 * attestation policies, secrets with their release policies, policy management certificates and
 * token signing keys — carries an HMAC-SHA-256 tag under a key derived from the KEK with HKDF
 * (`info` below; the KEK itself only ever seals). The tag covers a canonical encoding of the record
 * kind, the record's name (attestation type, secret name, thumbprint, kid) and every column the
 * service reads, so a row cannot be edited, nor moved to another name, table or attestation type.
 *
 * Deletion and replay: for policies and policy certificates, a MAC'd *manifest* per kind lists the
 * names present with the generation (a per-kind counter) of their current row; each row's tag covers
 * its generation. Reading a policy checks row and manifest together, so a deleted policy row (which
 * would make the service fall back to the default policy), an inserted one, or an older validly
 * MAC'd row put back is refused. Limits: rolling back the whole database consistently (rows and
 * manifests from one older snapshot) is not detected; secrets and signing keys have no manifest, so
 * an older row of the same secret (e.g. an older release policy) can be put back; audit lines are not
 * authenticated.
 *
 * The applied-management-JWS ledger (replay refusal of signed policy/certificate changes) is
 * append-only: each row carries its sequence number `seq` (1, 2, …) under its tag, and a MAC'd
 * *ledger head* (`integrity_manifests`, kind `management-jws`) holds how many rows there are. Every
 * read of the ledger checks all rows against the head (`checkLedger`): a deleted row (which would
 * make its captured body replayable), an edited one (a lowered `iat`) or an inserted one is refused.
 * Limit: an older head put back together with the deletion of the rows added since (a consistent
 * rollback of the ledger to a snapshot the attacker kept) is not detected.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { StorageError } from '../errors.ts';
import type { KeyEncryptionKey } from '../kek.ts';

/** Kinds of authenticated records. */
export type RecordKind =
  'policy' | 'secret' | 'policy-certificate' | 'signing-key' | 'management-jws' | 'manifest';

/** The kinds that have a manifest (deletion and replay detection). */
export type ManifestKind = 'policy' | 'policy-certificate';

/** A column value in the canonical encoding. */
export type Field = string | Uint8Array | number | null;

/** One refused record, as reported to listeners (metrics, logs). */
export interface IntegrityFailure {
  readonly kind: RecordKind;
  readonly name: string;
  readonly reason: string;
}

/** `integrity_manifests.kind` of the KEK check row. */
export const KEK_CHECK = 'kek-check';

/** `integrity_manifests.kind` of the applied-management-JWS ledger head. */
export const LEDGER_HEAD = 'management-jws';

/** HKDF `info` of the record MAC key. */
export const RECORD_MAC_INFO = 'ccnodes attestation storage record MAC v1';
const DOMAIN = 'ccnodes-record-v1';

function encodeField(f: Field): Buffer {
  let tag: number;
  let body: Buffer;
  if (f === null) {
    tag = 0;
    body = Buffer.alloc(0);
  } else if (typeof f === 'string') {
    tag = 1;
    body = Buffer.from(f, 'utf8');
  } else if (typeof f === 'number') {
    tag = 3;
    body = Buffer.from(String(f), 'ascii');
  } else {
    tag = 2;
    body = Buffer.from(f);
  }
  const head = Buffer.alloc(5);
  head[0] = tag;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Computes and checks record tags; tells listeners about every refused record. */
export class RecordIntegrity {
  readonly #key: Buffer;
  readonly #listeners: ((failure: IntegrityFailure) => void)[] = [];
  /** Records tagged by the legacy adoption of this process's migration, if one ran. */
  adoptedRecords = 0;

  constructor(kek: KeyEncryptionKey) {
    this.#key = kek.deriveKey(RECORD_MAC_INFO);
  }

  /** Registers a listener for refused records (called before the error is thrown). */
  onFailure(listener: (failure: IntegrityFailure) => void): void {
    this.#listeners.push(listener);
  }

  /** The tag of a record: HMAC-SHA-256 over domain, kind, name and the fields, length-prefixed. */
  mac(kind: RecordKind, name: string, fields: readonly Field[]): Buffer {
    const h = createHmac('sha256', this.#key);
    for (const f of [DOMAIN, kind, name, fields.length, ...fields]) h.update(encodeField(f));
    return h.digest();
  }

  /** Throws `ERR_STORAGE_INTEGRITY` unless `tag` is the record's tag. */
  verify(kind: RecordKind, name: string, fields: readonly Field[], tag: unknown): void {
    if (tag === null || tag === undefined) this.fail(kind, name, 'it carries no integrity tag');
    const given = Buffer.from(tag as Uint8Array);
    const want = this.mac(kind, name, fields);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      this.fail(kind, name, 'its integrity tag does not match (modified, moved or written without the KEK)');
    }
  }

  /** Reports and throws an integrity failure for one record. */
  fail(kind: RecordKind, name: string, reason: string): never {
    const failure = { kind, name, reason };
    for (const l of this.#listeners) {
      try {
        l(failure);
      } catch {
        // A failing listener must not turn the refusal into something else.
      }
    }
    throw new StorageError(
      'ERR_STORAGE_INTEGRITY',
      `stored ${kind} ${JSON.stringify(name)} refused: ${reason}`,
      { kind, name },
    );
  }

  /**
   * Checked when storage opens: a row (`integrity_manifests`, kind `kek-check`) written with the
   * tags, so that opening a database with another KEK says so (`ERR_STORAGE_KEK`) instead of
   * reporting every record as tampered. A missing row is an integrity failure.
   */
  checkKek(body: unknown, tag: unknown): void {
    if (typeof body !== 'string') this.fail('manifest', KEK_CHECK, 'the KEK check row is missing');
    const want = this.mac('manifest', KEK_CHECK, [body]);
    const given = Buffer.from((tag ?? new Uint8Array()) as Uint8Array);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new StorageError(
        'ERR_STORAGE_KEK',
        'the key-encryption key does not match this database (its KEK check row does not verify)',
        { purpose: KEK_CHECK },
      );
    }
  }

  /** The KEK check row written by the migration that introduced tags. */
  kekCheckRow(): { kind: string; body: string; mac: Buffer } {
    const body = 'ccnodes attestation storage';
    return { kind: KEK_CHECK, body, mac: this.mac('manifest', KEK_CHECK, [body]) };
  }

  /** A manifest's body and tag. */
  sealManifest(kind: ManifestKind, m: Manifest): { body: string; mac: Buffer } {
    const body = encodeManifest(m);
    return { body, mac: this.mac('manifest', kind, [body]) };
  }

  /** Verifies and parses a manifest row; a missing one is an integrity failure. */
  openManifest(kind: ManifestKind, body: unknown, tag: unknown): Manifest {
    if (typeof body !== 'string') this.fail('manifest', kind, 'the manifest row is missing');
    this.verify('manifest', kind, [body], tag);
    const parsed = JSON.parse(body) as { counter: number; entries: Record<string, number> };
    return { counter: parsed.counter, entries: new Map(Object.entries(parsed.entries)) };
  }

  /**
   * Checks that a row read for `name` is the one the manifest lists: present with the same
   * generation, or absent from both.
   */
  checkAgainstManifest(
    kind: ManifestKind,
    name: string,
    manifest: Manifest,
    rowGeneration: number | undefined,
  ): void {
    const listed = manifest.entries.get(name);
    if (rowGeneration === undefined && listed !== undefined) {
      this.fail(kind, name, `the row was deleted (the manifest lists generation ${listed})`);
    }
    if (rowGeneration !== undefined && listed === undefined) {
      this.fail(kind, name, 'the row is not in the manifest (inserted or restored without the KEK)');
    }
    if (rowGeneration !== undefined && listed !== rowGeneration) {
      this.fail(
        kind,
        name,
        `the row is generation ${rowGeneration} but the manifest lists ${listed} (an older row put back)`,
      );
    }
  }
}

/**
 * Verification of the applied-management-JWS ledger (`applied_management_jws`): rows carry
 * `seq` 1..count and a tag over (`jws_hash`; `seq`, `subject`, `operation`, `iat`, `applied_at`);
 * the head (a MAC'd `{"count": n}`) says how many rows the ledger holds.
 */
export class LedgerIntegrity {
  readonly #integrity: RecordIntegrity;

  constructor(integrity: RecordIntegrity) {
    this.#integrity = integrity;
  }

  /** The head row for a ledger of `count` rows. */
  sealHead(count: number): { kind: string; body: string; mac: Buffer } {
    const body = JSON.stringify({ count });
    return { kind: LEDGER_HEAD, body, mac: this.#integrity.mac('manifest', LEDGER_HEAD, [body]) };
  }

  /** Verifies the head row and returns its count; a missing head is an integrity failure. */
  openHead(body: unknown, tag: unknown): number {
    if (typeof body !== 'string')
      this.#integrity.fail('manifest', LEDGER_HEAD, 'the ledger head row is missing');
    this.#integrity.verify('manifest', LEDGER_HEAD, [body], tag);
    return (JSON.parse(body) as { count: number }).count;
  }

  /** The tag of a ledger row about to be written (its `seq` included). */
  macRow(r: Row): Buffer {
    return this.#integrity.mac('management-jws', String(r['jws_hash']), LEDGER_FIELDS(r));
  }

  /**
   * Checks that `rows` (the whole ledger, any order) are exactly the rows 1..`count` of the head,
   * each with a valid tag: a deleted, edited, duplicated or inserted row is refused.
   */
  check(rows: readonly Row[], count: number): void {
    const seen = new Set<number>();
    for (const r of rows) {
      const name = String(r['jws_hash']);
      const seq = num(r['seq']);
      if (seq === null || !Number.isSafeInteger(seq) || seq < 1 || seq > count || seen.has(seq)) {
        this.#integrity.fail(
          'management-jws',
          name,
          `the row (seq ${String(seq)}) is not one of the ${count} rows the ledger head lists (inserted, duplicated or restored without the KEK)`,
        );
      }
      seen.add(seq);
      this.#integrity.verify('management-jws', name, LEDGER_FIELDS(r), r['mac']);
    }
    if (seen.size !== count) {
      let missing = 1;
      while (seen.has(missing)) missing += 1;
      this.#integrity.fail(
        'management-jws',
        `seq ${missing}`,
        `a ledger row was deleted (the ledger head lists ${count} rows, ${seen.size} are present; seq ${missing} is missing)`,
      );
    }
  }

  /**
   * Legacy adoption (the migration that added `seq` and `mac` to the ledger): numbers the existing
   * rows in `applied_at`, `jws_hash` order and tags them; returns the updates and the head.
   */
  planAdoption(rows: readonly Row[]): {
    updates: { hash: string; seq: number; mac: Buffer }[];
    head: { kind: string; body: string; mac: Buffer };
  } {
    const sorted = [...rows].sort(
      (a, b) =>
        Number(a['applied_at']) - Number(b['applied_at']) ||
        (String(a['jws_hash']) < String(b['jws_hash']) ? -1 : 1),
    );
    const updates = sorted.map((r, i) => ({
      hash: String(r['jws_hash']),
      seq: i + 1,
      mac: this.macRow({ ...r, seq: i + 1 }),
    }));
    this.#integrity.adoptedRecords += updates.length;
    return { updates, head: this.sealHead(updates.length) };
  }
}

/** Names present in one kind with their current generation; `counter` only grows. */
export interface Manifest {
  readonly counter: number;
  readonly entries: Map<string, number>;
}

/** Canonical JSON of a manifest (entries sorted by name). */
export function encodeManifest(m: Manifest): string {
  const entries: Record<string, number> = {};
  for (const k of [...m.entries.keys()].sort()) entries[k] = m.entries.get(k) ?? 0;
  return JSON.stringify({ counter: m.counter, entries });
}

/** The manifest after `name` got a new row; returns it and the row's generation. */
export function bumpManifest(m: Manifest, name: string): { manifest: Manifest; generation: number } {
  const generation = m.counter + 1;
  const entries = new Map(m.entries);
  entries.set(name, generation);
  return { manifest: { counter: generation, entries }, generation };
}

/** The manifest after `name`'s row was removed. */
export function dropFromManifest(m: Manifest, name: string): Manifest {
  const entries = new Map(m.entries);
  entries.delete(name);
  return { counter: m.counter + 1, entries };
}

export const EMPTY_MANIFEST: Manifest = { counter: 0, entries: new Map() };

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
const buf = (v: unknown): Uint8Array => new Uint8Array(v as Uint8Array);

/** The authenticated columns of each table, in tag order (rows as both backends return them). */
export const RECORD_FIELDS = {
  policy: (r: Row): Field[] => [
    num(r['generation']),
    str(r['jws']),
    str(r['policy_text']),
    str(r['signer_jwk']),
    num(r['updated_at']),
  ],
  secret: (r: Row): Field[] => [
    buf(r['sealed_value']),
    str(r['release_policy']),
    str(r['content_type']),
    num(r['created_at']),
    num(r['updated_at']),
  ],
  'policy-certificate': (r: Row): Field[] => [num(r['generation']), buf(r['cert_der']), num(r['added_at'])],
  'signing-key': (r: Row): Field[] => [
    buf(r['cert_der']),
    buf(r['sealed_private_key']),
    num(r['created_at']),
    num(r['retired_at']),
  ],
} as const;

/** The authenticated columns of an `applied_management_jws` row, in tag order (name: `jws_hash`). */
const LEDGER_FIELDS = (r: Row): Field[] => [
  num(r['seq']),
  str(r['subject']),
  str(r['operation']),
  num(r['iat']),
  num(r['applied_at']),
];

/** Table and name column of each row kind. */
export const RECORD_TABLES = {
  policy: { table: 'policies', key: 'attestation_type' },
  secret: { table: 'secrets', key: 'name' },
  'policy-certificate': { table: 'policy_certificates', key: 'thumbprint' },
  'signing-key': { table: 'signing_keys', key: 'kid' },
} as const;

export type RowKind = keyof typeof RECORD_TABLES;

/** Verifies one row of `kind` (name from its key column). */
export function verifyRow(integrity: RecordIntegrity, kind: RowKind, r: Row): void {
  const name = String(r[RECORD_TABLES[kind].key]);
  integrity.verify(kind, name, RECORD_FIELDS[kind](r), r['mac']);
}

/** The tag for a row of `kind` about to be written. */
export function macRow(integrity: RecordIntegrity, kind: RowKind, r: Row): Buffer {
  return integrity.mac(kind, String(r[RECORD_TABLES[kind].key]), RECORD_FIELDS[kind](r));
}

/**
 * Legacy adoption (the migration that introduced tags): tags every existing row and builds the
 * manifests. Runs only inside the transaction of that migration, so a database that already has
 * tags never has untagged rows adopted later. Returns the per-row updates and the manifests.
 */
export function planAdoption(
  integrity: RecordIntegrity,
  rows: Readonly<Record<RowKind, Row[]>>,
): {
  updates: { kind: RowKind; name: string; generation: number | null; mac: Buffer }[];
  manifests: { kind: string; body: string; mac: Buffer }[];
} {
  const updates: { kind: RowKind; name: string; generation: number | null; mac: Buffer }[] = [];
  const manifests: { kind: string; body: string; mac: Buffer }[] = [integrity.kekCheckRow()];
  for (const kind of Object.keys(RECORD_TABLES) as RowKind[]) {
    const withManifest = kind === 'policy' || kind === 'policy-certificate';
    let manifest = EMPTY_MANIFEST;
    for (const r of rows[kind]) {
      const name = String(r[RECORD_TABLES[kind].key]);
      let generation: number | null = null;
      if (withManifest) {
        const bumped = bumpManifest(manifest, name);
        manifest = bumped.manifest;
        generation = bumped.generation;
      }
      const mac = macRow(integrity, kind, { ...r, generation });
      updates.push({ kind, name, generation, mac });
    }
    if (withManifest) manifests.push({ kind, ...integrity.sealManifest(kind, manifest) });
  }
  integrity.adoptedRecords = updates.length;
  return { updates, manifests };
}
