/**
 * Support for the stored-state tampering tests: the service started as the CLI starts it
 * (`createAttestationService` on 127.0.0.1:0) on SQLite — and on PostgreSQL when the test harness
 * can start one — plus direct write access to its database, as an attacker who can write the
 * database (but does not hold the KEK) has.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../attestation/postgres-harness.ts';
import { ADMIN_TOKEN, postJson, simQuote, startService, type Started } from '../attestation/support.ts';

/** A running service and a raw connection to its database. */
export interface TamperTarget {
  readonly s: Started;
  /** Runs SQL with `?` placeholders directly on the service's database; returns rows. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * Starts the service under test; `more` carries the PostgreSQL URL of a fresh database (nothing:
 * SQLite in the service's data dir).
 */
export type StartWith = (more: { databaseUrl?: string }) => Promise<Started>;

/** The default service of the tampering tests: AAD mode with the admin credential. */
const adminService: StartWith = (more) => startService({ adminToken: ADMIN_TOKEN, ...more });

/** A backend to run the attacks against; `skip` says why it is unavailable. */
export interface Backend {
  readonly name: string;
  skip: string | false;
  /** Starts the service (`startWith`, default the admin-mode service) on this backend. */
  start(startWith?: StartWith): Promise<TamperTarget>;
}

let pgServer: TestPostgres | undefined | null = null;
let dbCounter = 0;

/** SQLite (always) and PostgreSQL (when the harness finds a server or the local binaries). */
export async function backends(): Promise<Backend[]> {
  if (pgServer === null) pgServer = await startTestPostgres(process.env);
  const server = pgServer;
  return [
    {
      name: 'SQLite',
      skip: false,
      start: async (startWith = adminService) => {
        const s = await startWith({});
        const db = new Database(join(s.dataDir, 'attestation.db'));
        db.pragma('busy_timeout = 5000');
        return {
          s,
          sql: (text, params = []) => {
            const st = db.prepare(text);
            return Promise.resolve(
              st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []),
            );
          },
          close: async () => {
            db.close();
            await s.close();
          },
        };
      },
    },
    {
      name: 'PostgreSQL',
      skip: server === undefined ? postgresSkipReason() : false,
      start: async (startWith = adminService) => {
        if (server === undefined) throw new Error('no PostgreSQL');
        const url = await server.createDatabase(`ccnodes_tamper_${process.pid}_${++dbCounter}`);
        const s = await startWith({ databaseUrl: url });
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        return {
          s,
          sql: async (text, params = []) => {
            let i = 0;
            return (
              await c.query(
                text.replace(/\?/g, () => `$${++i}`),
                params,
              )
            ).rows as Record<string, unknown>[];
          },
          close: async () => {
            await c.end();
            await s.close();
          },
        };
      },
    },
  ];
}

/** Stops the PostgreSQL the harness started (call in `after`). */
export async function stopBackends(): Promise<void> {
  if (pgServer !== null && pgServer !== undefined) await pgServer.stop();
  pgServer = null;
}

/** An unsigned policy JWS, as the SDK sends in AAD mode. */
export const policyJws = (text: string): string =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
    JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') }),
  ).toString('base64url')}.`;

export const DENY_ALL = 'version=1.0; authorizationrules{ => deny(); }; issuancerules{ };';
export const PERMIT_ALL = 'version=1.0; authorizationrules{ => permit(); }; issuancerules{ };';

/** Sets a policy with the admin credential; throws unless 200. */
export async function setPolicy(url: string, type: string, text: string): Promise<void> {
  const res = await fetch(`${url}/policies/${type}?api-version=2020-10-01`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
    body: policyJws(text),
  });
  if (res.status !== 200) throw new Error(`policy set failed: ${res.status} ${await res.text()}`);
}

/** Attests a simulated quote at /attest/SgxEnclave: status and our error code header. */
export async function attest(url: string): Promise<{ status: number; code: string | null }> {
  const runtime = Buffer.from('{"hello":"enclave"}');
  const { createHash } = await import('node:crypto');
  const binding = createHash('sha256').update(runtime).digest('hex') + '00'.repeat(32);
  const res = await postJson(`${url}/attest/SgxEnclave?api-version=2022-08-01`, {
    quote: simQuote({ reportData: binding }),
    runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
  });
  return { status: res.status, code: res.headers.get('x-ccnodes-error-code') };
}

/** `ccnodes_attestation_integrity_failures_total{kind}` from the service's metrics endpoint. */
export async function integrityFailures(url: string, kind: string): Promise<number> {
  const text = await (await fetch(`${url}/ccnodes/v1/metrics`)).text();
  const m = new RegExp(`^ccnodes_attestation_integrity_failures_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(
    text,
  );
  return m === null ? 0 : Number(m[1]);
}
