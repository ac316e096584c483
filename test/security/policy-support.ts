/**
 * Helpers of the policy-management and secret-release regression tests: an isolated-mode service
 * (real DCAP verifier over the simulated deployment, started through `createAttestationService` as
 * the CLI does), management JWS bodies signed the way MAA clients sign them, and thin HTTP wrappers
 * that return the stable ccnodes error code of a refusal.
 */
import { createPrivateKey } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import {
  ADMIN_TOKEN,
  selfSignedPem,
  startService,
  type Started,
  type StartOptions,
} from '../attestation/support.ts';

export type Signer = Awaited<ReturnType<typeof selfSignedPem>> & { readonly alg: 'RS256' | 'ES256' };

/** A policy management signer: RSA-2048 (RS256, as the SDK signs with an RSA key) or EC P-256 (ES256). */
export async function newSigner(cn: string, ec = false): Promise<Signer> {
  return { ...(await selfSignedPem({ cn, ec })), alg: ec ? 'ES256' : 'RS256' };
}

/** Starts an isolated-mode service whose first policy management certificates are `signers`. */
export function startIsolated(signers: readonly Signer[], more: StartOptions = {}): Promise<Started> {
  return startService({ isolated: true, policySignerCerts: signers.map((s) => s.certDer), ...more });
}

/**
 * A management JWS signed by `signer`, header `{alg, x5c}` as the `@azure/attestation` SDK builds
 * it; `payload` is a JSON object, or `''` for the empty payload of a reset.
 */
export async function signedJws(signer: Signer, payload: Record<string, unknown> | ''): Promise<string> {
  const bytes = payload === '' ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: signer.alg, x5c: [Buffer.from(signer.certDer).toString('base64')] })
    .sign(createPrivateKey(signer.keyPem));
}

/** The payload of a stored-policy JWS: `{"AttestationPolicy": base64url(text)}` plus `extra` claims. */
export function policyPayload(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { AttestationPolicy: Buffer.from(text, 'utf8').toString('base64url'), ...extra };
}

/** A policy that permits every enclave, issuing `tag` so a token shows which policy issued it. */
export const permissivePolicy = (tag: string): string =>
  `version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="policy-tag", value="${tag}"); };`;

/** A policy that denies every enclave. */
export const denyAllPolicy = (tag: string): string =>
  `version=1.0; authorizationrules { => deny(); }; issuancerules { => issue(type="policy-tag", value="${tag}"); };`;

export interface HttpOutcome {
  readonly status: number;
  /** `x-ccnodes-error-code` of a refusal, else undefined. */
  readonly code: string | undefined;
  readonly body: Record<string, unknown>;
}

async function outcome(res: Response): Promise<HttpOutcome> {
  const text = await res.text();
  return {
    status: res.status,
    code: res.headers.get('x-ccnodes-error-code') ?? undefined,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

const API = 'api-version=2022-08-01';

/** `PUT /policies/{type}` with a JWS body (text/plain), anonymously. */
export async function putPolicy(url: string, type: string, jws: string): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/policies/${type}?${API}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: jws,
    }),
  );
}

/** `PUT /policies/{type}` with a stored-policy body (`policyPayload(text, extra)`) signed by `signer`. */
export async function putSignedPolicy(
  url: string,
  type: string,
  signer: Signer,
  text: string,
  extra: Record<string, unknown> = {},
): Promise<HttpOutcome> {
  return putPolicy(url, type, await signedJws(signer, policyPayload(text, extra)));
}

/** `POST /policies/{type}:reset` with a JWS body (text/plain), anonymously. */
export async function resetPolicy(url: string, type: string, jws: string): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/policies/${type}:reset?${API}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: jws,
    }),
  );
}

/** What anyone can read: the stored policy JWS (`x-ms-policy`) of `GET /policies/{type}`. */
export async function readPolicyJws(url: string, type: string): Promise<string> {
  const res = await fetch(`${url}/policies/${type}?${API}`);
  const { token } = (await res.json()) as { token: string };
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    'x-ms-policy': string;
  };
  return payload['x-ms-policy'];
}

/** The policy text currently in force for `type`, as `GET /policies/{type}` reports it. */
export async function currentPolicyText(url: string, type: string): Promise<string> {
  const jws = await readPolicyJws(url, type);
  const p = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    AttestationPolicy: string;
  };
  return Buffer.from(p.AttestationPolicy, 'base64url').toString('utf8');
}

/** `POST /attest/{type}` with JSON `body`. */
export async function attest(url: string, type: string, body: unknown): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/attest/${type}?${API}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

/** The 16-byte `oe_report_header_t` (version 1, type 2 = remote, size) MAA's OpenEnclave endpoint strips. */
export function oeReport(quote: Uint8Array): Uint8Array {
  const header = Buffer.alloc(16);
  header.writeUInt32LE(1, 0);
  header.writeUInt32LE(2, 4);
  header.writeBigUInt64LE(BigInt(quote.length), 8);
  return Buffer.concat([header, quote]);
}

/** An enclave's encryption key pair and the JSON runtime data that carries its public JWK. */
export async function enclaveRuntime(): Promise<{
  runtime: Buffer;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}> {
  const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'enclave', use: 'enc' };
  return { runtime: Buffer.from(JSON.stringify({ keys: [jwk] })), privateKey };
}

/** `PUT /ccnodes/v1/secrets/{name}` with the admin bearer; `extra` adds body members (attestationType). */
export async function putSecret(
  url: string,
  name: string,
  releasePolicy: unknown,
  extra: Record<string, unknown> = {},
): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/ccnodes/v1/secrets/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        value: Buffer.from(`value of ${name}`).toString('base64'),
        contentType: 'text/plain',
        releasePolicy,
        ...extra,
      }),
    }),
  );
}

/** `POST /ccnodes/v1/secrets/{name}/release` with JSON `body`, anonymously. */
export async function releaseSecret(url: string, name: string, body: unknown): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/ccnodes/v1/secrets/${name}/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

/** `PUT /policies/{type}` in AAD mode: an unsigned policy JWS with the admin bearer. */
export async function putPolicyAsAdmin(url: string, type: string, text: string): Promise<HttpOutcome> {
  const jws = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(policyPayload(text))).toString('base64url')}.`;
  return outcome(
    await fetch(`${url}/policies/${type}?${API}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: jws,
    }),
  );
}
