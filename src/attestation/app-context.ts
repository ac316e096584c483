/** What every route module receives: the wired services of one instance. */
import type { FastifyRequest } from 'fastify';
import type { ServiceMetrics } from './metrics.ts';
import type { PipelineDeps } from './pipeline.ts';
import type { PolicyService } from './policy-service.ts';
import type { SecretService } from './secrets.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import type { AttestationStorage, AuditEntry } from './storage/index.ts';
import type { TokenIssuer } from './token-issuer.ts';

export interface AppContext {
  readonly issuer: string;
  readonly storage: AttestationStorage;
  readonly keys: SigningKeyRing;
  readonly tokens: TokenIssuer;
  readonly policies: PolicyService;
  readonly secrets: SecretService;
  readonly pipeline: PipelineDeps;
  readonly metrics: ServiceMetrics;
  readonly simulationMode: boolean;
  readonly now: () => Date;
  /** Throws `ERR_ATTEST_UNAUTHORIZED` unless the request carries the admin bearer token. */
  readonly requireAdmin: (request: FastifyRequest) => void;
  /** Throws `ERR_ATTEST_RATE_LIMITED` when this client sent too many draft-policy attestations. */
  readonly limitDrafts: (request: FastifyRequest) => void;
  /** Appends to the audit log; a failing audit write fails the request (fail closed). */
  readonly audit: (entry: Omit<AuditEntry, 'at'>) => Promise<void>;
}

/** Caller identity for audit lines. */
export function actorOf(request: FastifyRequest, admin = false): string {
  return `${request.ip}${admin ? ' (admin)' : ''}`;
}

/** Lifetime of management result tokens (PolicyResult etc.), as the published samples: 1 hour. */
export const MANAGEMENT_TOKEN_LIFETIME_SECONDS = 3600;
