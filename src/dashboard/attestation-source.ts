/**
 * The attestation service adapter: its own HTTP API only (`/ccnodes/v1/health`, `/ccnodes/v1/audit`,
 * `/ccnodes/v1/secrets`, `/ccnodes/v1/metrics`, `GET /policies/{type}`). Secrets are read from the
 * list endpoint, which carries names and release policies but no values; this adapter keeps only the
 * fields it names, so nothing else the service might add can reach a page.
 */
import { createHash } from 'node:crypto';
import { DashboardSourceError } from './errors.ts';
import { getJson, getText } from './http-get.ts';
import { parseMetricsText, type MetricsText } from './metrics-text.ts';

/** One audit line as the service lists it. */
export interface AuditLine {
  readonly id: number;
  readonly at: string;
  readonly action: string;
  readonly actor: string;
  readonly subject: string;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: string;
  readonly count: number;
}

/** A stored secret as the dashboard shows it: its name and release policy, never its value. */
export interface SecretInfo {
  readonly name: string;
  readonly contentType: string;
  readonly releasePolicy: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The current policy of one attestation type. */
export interface PolicyInfo {
  readonly type: string;
  readonly text: string;
  /** `x-ms-policy-hash` of the text (base64url SHA-256 of base64url of the UTF-8 text). */
  readonly hash: string;
  readonly signed: boolean;
}

/** Attestation types whose policies are shown; a service that does not know a type after the first is skipped. */
export const POLICY_TYPES = ['SgxEnclave', 'OpenEnclave', 'TdxVm'] as const;

/** Options of {@link attestationApiSource}. */
export interface AttestationSourceOptions {
  readonly url: string;
  /** Bearer token for the admin calls (audit, secrets). */
  readonly adminToken?: string;
  /** Audit lines to read (newest first; default 2 000, at most 20 000). */
  readonly auditLimit?: number;
  readonly timeoutMs?: number;
}

/** What the dashboard reads from the attestation service. */
export interface AttestationSource {
  readonly url: string;
  health(): Promise<Record<string, unknown>>;
  audit(): Promise<AuditLine[]>;
  secrets(): Promise<SecretInfo[]>;
  policies(): Promise<PolicyInfo[]>;
  metrics(): Promise<MetricsText>;
}

/** `x-ms-policy-hash`: base64url(SHA-256(ASCII of base64url(UTF-8 text))), as the service computes it. */
export function policyHashOf(text: string): string {
  return createHash('sha256')
    .update(Buffer.from(text, 'utf8').toString('base64url'), 'ascii')
    .digest('base64url');
}

function str(o: Record<string, unknown>, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string')
    throw new DashboardSourceError(`attestation: ${where}.${k} is not a string`, {
      source: 'attestation',
      field: `${where}.${k}`,
    });
  return v;
}

function jwtPayload(token: string, field: string): Record<string, unknown> {
  const part = token.split('.')[1];
  try {
    const v = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new DashboardSourceError(`attestation: ${field} is not a JWS with a JSON payload`, {
    source: 'attestation',
    field,
  });
}

/** An {@link AttestationSource} over the service's HTTP API at `options.url`. */
export function attestationApiSource(options: AttestationSourceOptions): AttestationSource {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const admin: Record<string, string> =
    options.adminToken === undefined ? {} : { authorization: `Bearer ${options.adminToken}` };
  const get = (path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> =>
    getJson(`${base}${path}`, { source: 'attestation', headers, timeoutMs });
  const auditLimit = Math.min(20_000, Math.max(1, options.auditLimit ?? 2000));
  return {
    url: base,
    health: () => get('/ccnodes/v1/health'),
    async audit() {
      const out: AuditLine[] = [];
      let before: number | undefined;
      while (out.length < auditLimit) {
        const page = await get(
          `/ccnodes/v1/audit?limit=${Math.min(1000, auditLimit - out.length)}${before === undefined ? '' : `&before=${before}`}`,
          admin,
        );
        const entries = page['entries'];
        if (!Array.isArray(entries))
          throw new DashboardSourceError('attestation: audit answer has no entries array', {
            source: 'attestation',
            field: 'entries',
          });
        for (const [i, e] of (entries as unknown[]).entries()) {
          if (typeof e !== 'object' || e === null)
            throw new DashboardSourceError(`attestation: audit entry ${i} is not an object`, {
              source: 'attestation',
              field: `entries[${i}]`,
            });
          const o = e as Record<string, unknown>;
          const where = `entries[${i}]`;
          const decision = str(o, 'decision', where);
          if (decision !== 'allow' && decision !== 'deny' && decision !== 'error')
            throw new DashboardSourceError(`attestation: ${where}.decision is ${JSON.stringify(decision)}`, {
              source: 'attestation',
              field: `${where}.decision`,
            });
          const id = o['id'];
          if (typeof id !== 'number' || !Number.isSafeInteger(id))
            throw new DashboardSourceError(`attestation: ${where}.id is not an integer`, {
              source: 'attestation',
              field: `${where}.id`,
            });
          out.push({
            id,
            at: str(o, 'at', where),
            action: str(o, 'action', where),
            actor: str(o, 'actor', where),
            subject: str(o, 'subject', where),
            decision,
            reason: str(o, 'reason', where),
            count: typeof o['count'] === 'number' ? o['count'] : 1,
          });
        }
        if (entries.length === 0) break;
        const last = out.at(-1);
        if (last === undefined || (before !== undefined && last.id >= before)) break;
        before = last.id;
        if (entries.length < 1000 && out.length < auditLimit) break;
      }
      return out;
    },
    async secrets() {
      const body = await get('/ccnodes/v1/secrets', admin);
      const list = body['secrets'];
      if (!Array.isArray(list))
        throw new DashboardSourceError('attestation: secrets answer has no secrets array', {
          source: 'attestation',
          field: 'secrets',
        });
      return (list as unknown[]).map((s, i) => {
        const o = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
        const where = `secrets[${i}]`;
        // Only these fields; a value, should a service ever send one, is dropped here.
        return {
          name: str(o, 'name', where),
          contentType: typeof o['contentType'] === 'string' ? o['contentType'] : '',
          releasePolicy: o['releasePolicy'] ?? null,
          createdAt: typeof o['createdAt'] === 'string' ? o['createdAt'] : '',
          updatedAt: typeof o['updatedAt'] === 'string' ? o['updatedAt'] : '',
        };
      });
    },
    async policies() {
      const out: PolicyInfo[] = [];
      for (const type of POLICY_TYPES) {
        let body: Record<string, unknown>;
        try {
          body = await get(`/policies/${type}?api-version=2022-08-01`);
        } catch (err) {
          // Older services know fewer types: only the first (SgxEnclave) must answer.
          if (
            type !== POLICY_TYPES[0] &&
            err instanceof DashboardSourceError &&
            err.details['status'] !== undefined
          )
            continue;
          throw err;
        }
        const token = str(body, 'token', `policies/${type}`);
        const jws = jwtPayload(token, `policies/${type}.token`)['x-ms-policy'];
        if (typeof jws !== 'string')
          throw new DashboardSourceError(`attestation: the ${type} policy token has no x-ms-policy`, {
            source: 'attestation',
            field: 'x-ms-policy',
          });
        const [header = ''] = jws.split('.');
        const alg = (jwtPayload(`x.${header}.x`, 'x-ms-policy header')['alg'] ?? 'none') as unknown;
        const encoded = jwtPayload(jws, 'x-ms-policy')['AttestationPolicy'];
        if (typeof encoded !== 'string')
          throw new DashboardSourceError(`attestation: the ${type} policy has no AttestationPolicy`, {
            source: 'attestation',
            field: 'AttestationPolicy',
          });
        const text = Buffer.from(encoded, 'base64url').toString('utf8');
        out.push({ type, text, hash: policyHashOf(text), signed: alg !== 'none' });
      }
      return out;
    },
    async metrics() {
      const a = await getText(`${base}/ccnodes/v1/metrics`, { source: 'attestation', timeoutMs });
      if (a.status !== 200)
        throw new DashboardSourceError(`attestation: metrics answered HTTP ${a.status}`, {
          source: 'attestation',
          status: a.status,
        });
      return parseMetricsText(a.text);
    },
  };
}
