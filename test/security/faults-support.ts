/**
 * Support for the fault scenarios (`bench/faults.ts` and the `test/security/*` fault tests): the
 * attestation service started as its own process exactly as an operator starts it (`node
 * bin/ccnodes.js attestation serve …`, simulated root trusted, offline collateral, admin token
 * file), a load of real simulated quotes, writers that keep a ledger of every write the service
 * acknowledged, and the check that each acknowledged write is present afterwards.
 *
 * A write is *acknowledged* when the service answered it 2xx. Writes to one key (a policy type, a
 * secret name) are made one after another by one writer, so after a crash the stored value must be
 * the last acknowledged one or that of a later attempt that was in flight (or answered with an
 * error, which may still have been committed) — anything older is a lost write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { serializeCollateralBundle } from '../../src/core/index.ts';
import { createSimDcap, type SimDcap } from '../../src/sim/index.ts';

const BIN = fileURLToPath(new URL('../../bin/ccnodes.js', import.meta.url));
export const API = 'api-version=2022-08-01';
export const ADMIN_TOKEN = 'faults-admin-token-0123456789';
export const MRENCLAVE = 'a1'.repeat(32);
export const DENIED_MRENCLAVE = 'd0'.repeat(32);
const MRSIGNER = 'b2'.repeat(32);

const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

let dcap: SimDcap | undefined;
function sim(): SimDcap {
  dcap ??= createSimDcap({ seed: 'ccnodes-faults' });
  return dcap;
}

/** Files the service is started with: collateral bundle, simulated root, admin token. */
export interface SimInputs {
  readonly bundle: string;
  readonly root: string;
  readonly adminTokenFile: string;
}

/** Writes the collateral bundle, simulated root and admin token file into `dir`. */
export function writeSimInputs(dir: string): SimInputs {
  mkdirSync(dir, { recursive: true });
  const d = sim();
  const bundle = join(dir, 'bundle.json');
  writeFileSync(bundle, serializeCollateralBundle(d.collateral(d.platform('up-to-date'))));
  const root = join(dir, 'root.pem');
  writeFileSync(root, d.rootPem);
  const adminTokenFile = join(dir, 'admin-token');
  writeFileSync(adminTokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  return { bundle, root, adminTokenFile };
}

/** A real quote (simulated up-to-date platform) whose REPORTDATA binds `runtime`. */
export function quoteFor(runtime: Uint8Array, mrEnclave = MRENCLAVE): string {
  const p = sim().platform('up-to-date');
  const reportData = new Uint8Array(64);
  reportData.set(sha256(runtime));
  const body = p.syntheticReportBody({
    reportData,
    mrEnclave: Buffer.from(mrEnclave, 'hex'),
    mrSigner: Buffer.from(MRSIGNER, 'hex'),
    isvProdId: 1,
    isvSvn: 2,
    debug: false,
  });
  return Buffer.from(p.quote(body)).toString('base64url');
}

/** An attest request body (Binary runtime data) for `mrEnclave`. */
export function attestBody(mrEnclave = MRENCLAVE, tag = 'load'): string {
  const runtime = Buffer.from(`faults ${tag}`);
  return JSON.stringify({
    quote: quoteFor(runtime, mrEnclave),
    runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

/** A service process started from the CLI. */
export interface CliService {
  readonly url: string;
  readonly pid: number;
  /** Spawn to "attestation service ready", milliseconds. */
  readonly readyMs: number;
  /** False once the process has exited (for any reason). */
  alive(): boolean;
  /** The last few KiB the process wrote on standard error. */
  stderr(): string;
  /** SIGKILL and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** SIGTERM (clean stop) and wait; SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface CliServiceOptions {
  readonly dataDir: string;
  readonly inputs: SimInputs;
  readonly port: number;
  readonly databaseUrl?: string;
  /** CCNODES_ATTESTATION_KEK (replicas share one). */
  readonly kek?: string;
  readonly extraArgs?: readonly string[];
  /** How long start-up may take (default 60 s: tsx compiles the sources on a loaded machine). */
  readonly timeoutMs?: number;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

/** `node bin/ccnodes.js attestation serve …` on 127.0.0.1:`port`; resolves once it logs ready. */
export async function startCliService(o: CliServiceOptions): Promise<CliService> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CCNODES_ATTESTATION_')),
  );
  if (o.kek !== undefined) env['CCNODES_ATTESTATION_KEK'] = o.kek;
  const args = [
    BIN,
    'attestation',
    'serve',
    '--listen',
    `127.0.0.1:${o.port}`,
    '--data-dir',
    o.dataDir,
    '--insecure-http',
    '--collateral',
    o.inputs.bundle,
    '--trust-simulated-root',
    o.inputs.root,
    '--admin-token-file',
    o.inputs.adminTokenFile,
    '--audit-aggregate-window',
    '0',
    '--log-level',
    'info',
    ...(o.databaseUrl === undefined ? [] : ['--database-url', o.databaseUrl]),
    ...(o.extraArgs ?? []),
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  let url: string | undefined;
  child.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (url !== undefined || !line.includes('attestation service ready')) continue;
        try {
          url = String((JSON.parse(line) as { url: unknown }).url);
          resolve(url);
        } catch {
          // not a JSON log line
        }
      }
    });
    child.once('exit', (code, signal) => {
      reject(
        new Error(`attestation serve exited (${code ?? signal}) before ready: ${err.trim().slice(-800)}`),
      );
    });
    setTimeout(() => {
      reject(new Error(`attestation serve not ready within ${o.timeoutMs ?? 60_000} ms: ${err.slice(-800)}`));
    }, o.timeoutMs ?? 60_000).unref();
  });
  let readyUrl: string;
  try {
    readyUrl = await ready;
  } catch (e) {
    child.kill('SIGKILL');
    await waitExit(child);
    throw e;
  }
  const readyMs = performance.now() - started;
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.resume();
  return {
    url: readyUrl,
    pid: child.pid ?? 0,
    readyMs,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => err,
    async kill9() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
    async stop() {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await waitExit(child);
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP with a deadline: nothing in a fault run may hang.

export interface Answer {
  /** HTTP status, or 0 when no answer came (connection refused/reset, timeout). */
  readonly status: number;
  readonly code: string | undefined;
  readonly ms: number;
  readonly body: unknown;
  /** Wall-clock start (performance.now()). */
  readonly at: number;
  /** Method and path. */
  readonly what: string;
}

export async function call(
  url: string,
  init: { method?: string; body?: string; type?: string; admin?: boolean; timeoutMs?: number } = {},
): Promise<Answer> {
  const at = performance.now();
  const what = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': init.type ?? 'application/json' }),
        ...(init.admin === true ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep text
    }
    return {
      status: res.status,
      code: res.headers.get('x-ccnodes-error-code') ?? undefined,
      ms: performance.now() - at,
      body,
      at,
      what,
    };
  } catch {
    return { status: 0, code: undefined, ms: performance.now() - at, body: undefined, at, what };
  }
}

// ---------------------------------------------------------------------------------------------
// Writes and their ledger.

/** A permit-all policy that issues `x-fault-seq` = `seq`, so the policy in force is visible in tokens. */
export const seqPolicy = (seq: number): string =>
  `version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="x-fault-seq", value=${seq}); };`;

/** A policy that denies {@link DENIED_MRENCLAVE} and permits everything else. */
export const denyPolicy = (seq: number): string =>
  `version=1.0; authorizationrules { [type=="x-ms-sgx-mrenclave", value=="${DENIED_MRENCLAVE}"] => deny(); => permit(); }; issuancerules { => issue(type="x-fault-seq", value=${seq}); };`;

/** The unsigned JWS MAA clients PUT for `text`. */
export function unsignedPolicyJws(text: string): string {
  const b = (s: string): string => Buffer.from(s).toString('base64url');
  return `${b('{"alg":"none"}')}.${b(JSON.stringify({ AttestationPolicy: b(text) }))}.`;
}

/** Release policy of version `seq`: pins MRENCLAVE; `x-ms-sgx-svn <= 1000 + seq` makes each version distinct (always true). */
export function releasePolicyV(seq: number): Record<string, unknown> {
  return {
    version: '1.0.0',
    anyOf: [
      {
        allOf: [
          { claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE },
          { claim: 'x-ms-sgx-svn', lessOrEquals: 1000 + seq },
        ],
      },
    ],
  };
}

export const secretValue = (name: string, seq: number): string => `${name}:v${seq}`;

type Outcome = 'acked' | 'failed' | 'unknown';

interface Attempt {
  readonly seq: number;
  outcome: Outcome;
}

/** Every write attempt, per key, in the order one writer made them. */
export class Ledger {
  readonly policies = new Map<string, Attempt[]>();
  readonly secrets = new Map<string, Attempt[]>();
  /** kids of acknowledged rotations. */
  readonly keys: string[] = [];
  rotationsTried = 0;
  readonly #onAnswer: ((a: Answer) => void) | undefined;

  /** `onAnswer` sees every write's answer (e.g. to time the writes made during an outage). */
  constructor(onAnswer?: (a: Answer) => void) {
    this.#onAnswer = onAnswer;
  }

  #attempt(map: Map<string, Attempt[]>, key: string, seq: number): Attempt {
    const a: Attempt = { seq, outcome: 'unknown' };
    const list = map.get(key) ?? [];
    list.push(a);
    map.set(key, list);
    return a;
  }

  get acknowledged(): number {
    let n = this.keys.length;
    for (const m of [this.policies, this.secrets])
      for (const list of m.values()) n += list.filter((a) => a.outcome === 'acked').length;
    return n;
  }

  get attempted(): number {
    let n = this.rotationsTried;
    for (const m of [this.policies, this.secrets]) for (const list of m.values()) n += list.length;
    return n;
  }

  async setPolicy(url: string, type: string, seq: number): Promise<Answer> {
    const a = this.#attempt(this.policies, type, seq);
    const r = await call(`${url}/policies/${type}?${API}`, {
      method: 'PUT',
      body: unsignedPolicyJws(seqPolicy(seq)),
      type: 'text/plain',
      admin: true,
    });
    a.outcome = r.status >= 200 && r.status < 300 ? 'acked' : r.status === 0 ? 'unknown' : 'failed';
    this.#onAnswer?.(r);
    return r;
  }

  async putSecret(url: string, name: string, seq: number): Promise<Answer> {
    const a = this.#attempt(this.secrets, name, seq);
    const r = await call(`${url}/ccnodes/v1/secrets/${name}`, {
      method: 'PUT',
      body: JSON.stringify({
        value: Buffer.from(secretValue(name, seq)).toString('base64'),
        contentType: 'text/plain',
        releasePolicy: releasePolicyV(seq),
      }),
      admin: true,
    });
    a.outcome = r.status >= 200 && r.status < 300 ? 'acked' : r.status === 0 ? 'unknown' : 'failed';
    this.#onAnswer?.(r);
    return r;
  }

  async rotate(url: string): Promise<Answer> {
    this.rotationsTried += 1;
    const r = await call(`${url}/ccnodes/v1/signing-keys:rotate`, { method: 'POST', admin: true });
    const kid = (r.body as { kid?: unknown } | undefined)?.kid;
    if (r.status >= 200 && r.status < 300 && typeof kid === 'string') this.keys.push(kid);
    this.#onAnswer?.(r);
    return r;
  }
}

/** Values a key may hold now: that of the last acknowledged attempt, or of any later attempt. */
function allowed(list: readonly Attempt[]): { seqs: Set<number>; mustExist: boolean } {
  let last = -1;
  list.forEach((a, i) => {
    if (a.outcome === 'acked') last = i;
  });
  return { seqs: new Set(list.slice(Math.max(last, 0)).map((a) => a.seq)), mustExist: last >= 0 };
}

export interface WriteLoad {
  /** Resolves when every writer has stopped (after `stop()`, or once the service is gone). */
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Concurrent writers: one per policy type (sequential sets), `secretWriters` each creating and
 * updating its own secrets, and one key-rotation writer (every `rotateEveryMs`).
 */
export function startWriters(
  url: () => string,
  ledger: Ledger,
  o: { secretWriters?: number; rotateEveryMs?: number; pauseMs?: number } = {},
): WriteLoad {
  let stopped = false;
  let seq = 0;
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const writers: Promise<void>[] = [];
  for (const type of ['SgxEnclave', 'OpenEnclave']) {
    writers.push(
      (async () => {
        while (!stopped) {
          await ledger.setPolicy(url(), type, ++seq);
          await pause(o.pauseMs ?? 5);
        }
      })(),
    );
  }
  for (let w = 0; w < (o.secretWriters ?? 2); w++) {
    writers.push(
      (async () => {
        let i = 0;
        while (!stopped) {
          // Each writer cycles over 4 names: creates first, then updates.
          await ledger.putSecret(url(), `fault-w${w}-s${i % 4}`, ++seq);
          i += 1;
          await pause(o.pauseMs ?? 5);
        }
      })(),
    );
  }
  writers.push(
    (async () => {
      while (!stopped) {
        await ledger.rotate(url());
        await pause(o.rotateEveryMs ?? 200);
      }
    })(),
  );
  return {
    done: Promise.all(writers).then(() => undefined),
    stop() {
      stopped = true;
    },
  };
}

/** Attest load: `concurrency` loops POSTing real quotes; every answer recorded. */
export function startAttestLoad(
  url: () => string,
  concurrency: number,
  body = attestBody(),
): { answers: Answer[]; stop(): void; done: Promise<void> } {
  let stopped = false;
  const answers: Answer[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      const r = await call(`${url()}/attest/SgxEnclave?${API}`, { method: 'POST', body, timeoutMs: 15_000 });
      answers.push(r);
      if (r.status === 0) await new Promise((res) => setTimeout(res, 20));
    }
  });
  return {
    answers,
    stop() {
      stopped = true;
    },
    done: Promise.all(loops).then(() => undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Checking the ledger against the service.

export interface LostWrite {
  readonly kind: 'policy' | 'secret' | 'signing-key';
  readonly key: string;
  readonly detail: string;
}

function decodeJwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The seq of the stored policy of `type` (from GET /policies), or undefined for none/default. */
async function storedPolicySeq(url: string, type: string): Promise<number | undefined> {
  const r = await call(`${url}/policies/${type}?${API}`);
  if (r.status !== 200) throw new Error(`GET /policies/${type}: ${r.status} ${r.code ?? ''}`);
  const jws = String(decodeJwtPayload((r.body as { token: string }).token)['x-ms-policy']);
  const p = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    AttestationPolicy?: string;
  };
  const text = Buffer.from(p.AttestationPolicy ?? '', 'base64url').toString('utf8');
  const m = /value=(\d+)\); };$/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Compares the service's state with the ledger: each policy type holds an allowed seq (and an
 * attestation under SgxEnclave issues that seq: the policy is enforced, not only stored); each
 * secret's release policy is an allowed version and the secret released to an enclave key opens
 * to the value of the same version; every acknowledged rotation's kid is in /certs.
 */
export async function findLostWrites(url: string, ledger: Ledger): Promise<LostWrite[]> {
  const lost: LostWrite[] = [];
  for (const [type, list] of ledger.policies) {
    const { seqs, mustExist } = allowed(list);
    const seq = await storedPolicySeq(url, type);
    if (seq === undefined ? mustExist : !seqs.has(seq)) {
      lost.push({ kind: 'policy', key: type, detail: `stored seq ${seq}, allowed ${[...seqs].join(',')}` });
    }
  }
  // Enforcement of the SgxEnclave policy, and the token used for the releases below.
  const ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const runtime = Buffer.from(JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), use: 'enc' }] }));
  const att = await call(`${url}/attest/SgxEnclave?${API}`, {
    method: 'POST',
    body: JSON.stringify({
      quote: quoteFor(runtime),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    }),
  });
  if (att.status !== 200) throw new Error(`attest after restart: ${att.status} ${att.code ?? ''}`);
  const token = (att.body as { token: string }).token;
  const issuedSeq = decodeJwtPayload(token)['x-fault-seq'];
  const sgx = ledger.policies.get('SgxEnclave');
  if (sgx !== undefined && (await storedPolicySeq(url, 'SgxEnclave')) !== issuedSeq) {
    lost.push({ kind: 'policy', key: 'SgxEnclave', detail: `token issued x-fault-seq ${String(issuedSeq)}` });
  }
  const listed = await call(`${url}/ccnodes/v1/secrets`, { admin: true });
  if (listed.status !== 200) throw new Error(`GET /ccnodes/v1/secrets: ${listed.status}`);
  const stored = new Map(
    (listed.body as { secrets: { name: string; releasePolicy: unknown }[] }).secrets.map((s) => [
      s.name,
      s.releasePolicy,
    ]),
  );
  for (const [name, list] of ledger.secrets) {
    const { seqs, mustExist } = allowed(list);
    const rp = stored.get(name) as { anyOf?: { allOf?: { lessOrEquals?: number }[] }[] } | undefined;
    if (rp === undefined) {
      if (mustExist) lost.push({ kind: 'secret', key: name, detail: 'missing' });
      continue;
    }
    const rpSeq = (rp.anyOf?.[0]?.allOf?.[1]?.lessOrEquals ?? 0) - 1000;
    if (!seqs.has(rpSeq)) {
      lost.push({
        kind: 'secret',
        key: name,
        detail: `release policy v${rpSeq}, allowed ${[...seqs].join(',')}`,
      });
      continue;
    }
    const rel = await call(`${url}/ccnodes/v1/secrets/${name}/release`, {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    if (rel.status !== 200) {
      lost.push({ kind: 'secret', key: name, detail: `release ${rel.status} ${rel.code ?? ''}` });
      continue;
    }
    const { plaintext } = await compactDecrypt((rel.body as { jwe: string }).jwe, ec.privateKey);
    const value = Buffer.from(plaintext).toString('utf8');
    if (value !== secretValue(name, rpSeq)) {
      lost.push({ kind: 'secret', key: name, detail: `value ${value} under release policy v${rpSeq}` });
    }
  }
  const certs = await call(`${url}/certs`);
  const kids = new Set(((certs.body as { keys?: { kid: string }[] }).keys ?? []).map((k) => k.kid));
  for (const kid of ledger.keys) {
    if (!kids.has(kid)) lost.push({ kind: 'signing-key', key: kid, detail: 'not in /certs' });
  }
  return lost;
}

/** p-th percentile (0..100) of `xs`, or 0 when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
}

export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
