/**
 * The storage interface of the attestation service. SQLite (default) and PostgreSQL implement it
 * with the same schema (`migrations.ts`); everything is async so both fit. Every write is one
 * transaction. Sensitive columns (`sealed*`) hold KEK-sealed bytes only — storage never sees plaintext.
 */

/** A token signing key. */
export interface StoredSigningKey {
  readonly kid: string;
  /** DER of the self-signed certificate published in `/certs`. */
  readonly certDer: Uint8Array;
  /** PKCS#8 private key sealed under the KEK (purpose `signing-key:<kid>`). */
  readonly sealedPrivateKey: Uint8Array;
  readonly createdAt: Date;
  /** When a newer key replaced it; kept in `/certs` until `retiredAt + token lifetime`. */
  readonly retiredAt: Date | null;
}

/** A stored attestation policy for one attestation type. */
export interface StoredPolicy {
  readonly attestationType: string;
  /** The exact JWS received (what GET /policies returns in `x-ms-policy`). */
  readonly jws: string;
  /** The policy text carried in the JWS. */
  readonly text: string;
  /** JWK (with x5c) of the signer in isolated mode, else null. */
  readonly signerJwk: Record<string, unknown> | null;
  readonly updatedAt: Date;
}

/** A policy management certificate (isolated mode). */
export interface StoredPolicyCertificate {
  /** Upper-case hex SHA-1 of the DER, MAA's thumbprint. */
  readonly thumbprint: string;
  readonly certDer: Uint8Array;
  readonly addedAt: Date;
}

/** A secret kept for release to attested enclaves. */
export interface StoredSecret {
  readonly name: string;
  /** The value sealed under the KEK (purpose `secret:<name>`). */
  readonly sealedValue: Uint8Array;
  /** Release policy JSON text (anyOf/allOf claim conditions). */
  readonly releasePolicy: string;
  readonly contentType: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A policy-management JWS that was applied (isolated mode replay / rollback ledger). */
export interface AppliedManagementJws {
  /** Replay key of the body (`managementJwsReplayKey`): hex SHA-256, non-malleable. */
  readonly hash: string;
  /** Attestation type for policy set/reset, `certificates` for certificate add/remove. */
  readonly subject: string;
  /** `policy-set`, `policy-reset`, `cert-add`, `cert-remove`. */
  readonly operation: string;
  /** The body's `iat` (seconds since the epoch), when it carried one. */
  readonly iat: number | null;
  readonly appliedAt: Date;
}

/** One audit record: who asked, about what measurement, and what was decided. */
export interface AuditEntry {
  readonly id?: number;
  readonly at: Date;
  /** `attest`, `secret-release`, `policy-set`, `policy-reset`, `cert-add`, `cert-remove`, `secret-put`, `secret-delete`, `key-rotate`. */
  readonly action: string;
  /** Caller identity: remote address, and `admin` when the admin credential was used. */
  readonly actor: string;
  /** MRENCLAVE / secret name / attestation type, as fits the action. */
  readonly subject: string;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: string;
  /** How many identical events this line stands for (repeated failures are aggregated); default 1. */
  readonly count?: number;
}

/** Audit retention limits; `pruneAudit` deletes at most `maxDeletes` rows per call. */
export interface AuditRetention {
  /** Lines older than this are deleted. */
  readonly maxAgeMs: number;
  /** Only the newest this many lines are kept. */
  readonly maxRows: number;
  readonly maxDeletes: number;
  readonly now: Date;
}

/** Storage used by the service. Implementations: `openSqliteStorage`, `openPostgresStorage`. */
export interface AttestationStorage {
  /** Backend name for health output: `sqlite` or `postgres`. */
  readonly backend: string;
  /** Applies pending migrations (idempotent); returns the schema version. */
  migrate(): Promise<number>;

  listSigningKeys(): Promise<StoredSigningKey[]>;
  /** Inserts `key` and marks every other active key retired at `key.createdAt`, atomically. */
  addSigningKeyAndRetireOthers(key: StoredSigningKey): Promise<void>;
  deleteSigningKey(kid: string): Promise<void>;

  getPolicy(attestationType: string): Promise<StoredPolicy | undefined>;
  /** Stores (or with `undefined`, removes) a policy, atomically with its audit entry. */
  setPolicy(attestationType: string, policy: StoredPolicy | undefined, audit: AuditEntry): Promise<void>;

  listPolicyCertificates(): Promise<StoredPolicyCertificate[]>;
  addPolicyCertificate(cert: StoredPolicyCertificate): Promise<void>;
  /** Removes by thumbprint; refuses (returns false) when it would leave no certificate. */
  removePolicyCertificate(thumbprint: string): Promise<'removed' | 'absent' | 'last'>;

  putSecret(secret: StoredSecret): Promise<void>;
  getSecret(name: string): Promise<StoredSecret | undefined>;
  listSecrets(): Promise<Omit<StoredSecret, 'sealedValue'>[]>;
  deleteSecret(name: string): Promise<boolean>;

  /**
   * Records an applied management JWS; atomic: returns false (and records nothing) when a body
   * with the same hash was recorded before, so of two concurrent identical bodies only one wins.
   */
  claimManagementJws(entry: AppliedManagementJws): Promise<boolean>;
  /** The highest `iat` recorded for `subject`, if any. */
  latestManagementIat(subject: string): Promise<number | undefined>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Deletes audit lines beyond the retention limits (bounded work); returns how many. */
  pruneAudit(retention: AuditRetention): Promise<number>;
  /** Newest first. */
  listAudit(options: { limit: number; beforeId?: number }): Promise<Required<AuditEntry>[]>;

  close(): Promise<void>;
}
