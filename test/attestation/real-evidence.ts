/**
 * Real evidence for attestation tests: simulated DCAP quotes and collateral (src/sim) checked by the
 * real DCAP verifier, and a service started the way `createAttestationService` starts it, on
 * 127.0.0.1 with an issuer equal to its URL. Nothing here fakes verification.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  type AttestationService,
  type AttestationServiceConfig,
  type CollateralProvider,
  type CollateralRequest,
  type EvidenceVerifier,
} from '../../src/attestation/index.ts';
import type { RawCollateral } from '../../src/core/index.ts';
import type { SimDcap } from '../../src/sim/index.ts';

export const REAL_ADMIN_TOKEN = 'admin-token-for-real-evidence-tests';

export const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

/** Options of {@link simCollateralProvider}. */
export interface SimProviderOptions {
  /** Issue time of the collateral (default: the wall clock at each request). */
  readonly now?: () => Date;
  /** Rewrites the collateral before it is handed to the verifier. */
  readonly transform?: (raw: RawCollateral) => RawCollateral;
  /** Receives every collateral set handed out (to hash it independently). */
  readonly served?: (raw: RawCollateral, request: CollateralRequest) => void;
}

/** Collateral of the simulated PCS for the platform of the request's FMSPC and CA. */
export function simCollateralProvider(dcap: SimDcap, options: SimProviderOptions = {}): CollateralProvider {
  return (req) => {
    const p = dcap.platforms.find(
      (x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca,
    );
    if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}`));
    const base = dcap.collateral(p, options.now === undefined ? {} : { now: options.now() });
    const raw = options.transform === undefined ? base : options.transform(base);
    options.served?.(raw, req);
    return Promise.resolve(raw);
  };
}

/** The real DCAP verifier trusting `dcap`'s simulated root. */
export function simVerifier(
  dcap: SimDcap,
  options: SimProviderOptions & { allowDebug?: boolean } = {},
): EvidenceVerifier {
  return createDcapEvidenceVerifier({
    collateral: simCollateralProvider(dcap, options),
    trustSimulatedRoot: dcap.rootPem,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.allowDebug === true ? { dangerous: { allowDebugEnclave: true } } : {}),
  });
}

/** Enclave identity of the quotes made here. */
export const ENCLAVE = {
  mrEnclave: sha256('real-evidence enclave'),
  mrSigner: sha256('real-evidence signer'),
  isvProdId: 7,
  isvSvn: 3,
} as const;

/** A quote from simulated platform `platform` (default up-to-date) binding SHA-256(`runtimeData`). */
export function simQuote(
  dcap: SimDcap,
  runtimeData: Uint8Array,
  opts: { platform?: string; debug?: boolean; isvSvn?: number } = {},
): Uint8Array {
  const platform = dcap.platform(opts.platform ?? 'up-to-date');
  return platform.quote(
    platform.syntheticReportBody({
      reportData: sha256(runtimeData),
      mrEnclave: ENCLAVE.mrEnclave,
      mrSigner: ENCLAVE.mrSigner,
      isvProdId: ENCLAVE.isvProdId,
      isvSvn: opts.isvSvn ?? ENCLAVE.isvSvn,
      ...(opts.debug === undefined ? {} : { debug: opts.debug }),
    }),
  );
}

/** A running service and its base URL. */
export interface RealService {
  readonly service: AttestationService;
  readonly url: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => {
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
  });
}

/**
 * Starts `createAttestationService` on 127.0.0.1 (issuer = its URL, unless `publicUrl` is given),
 * in a temp data dir unless `dataDir` is given (a given dir is left in place on close).
 */
export async function startRealService(
  config: Partial<AttestationServiceConfig> & Pick<AttestationServiceConfig, 'verifier'>,
): Promise<RealService> {
  const ownDir = config.dataDir === undefined;
  const dataDir = config.dataDir ?? mkdtempSync(join(tmpdir(), 'ccnodes-real-evidence-'));
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const service = await createAttestationService({
    simulationMode: true,
    adminToken: REAL_ADMIN_TOKEN,
    ...config,
    dataDir,
    publicUrl: config.publicUrl ?? url,
  });
  await service.app.listen({ host: '127.0.0.1', port });
  return {
    service,
    url,
    dataDir,
    close: async () => {
      await service.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POSTs JSON; returns status, parsed body and headers. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  };
}

/** Header and payload of a JWT, unverified. */
export function jwtParts(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** POST /attest/SgxEnclave with a simulated quote and its runtime data (Binary or JSON). */
export async function attest(
  url: string,
  quote: Uint8Array,
  runtimeData: Uint8Array,
  dataType: 'Binary' | 'JSON' = 'Binary',
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  return post(`${url}/attest/SgxEnclave?api-version=2022-08-01`, {
    quote: Buffer.from(quote).toString('base64url'),
    runtimeData: { data: Buffer.from(runtimeData).toString('base64url'), dataType },
  });
}

/** An unsigned policy-management JWS carrying `text` (`{"AttestationPolicy": base64url(text)}`). */
export function unsignedPolicyJwsOf(text: string): string {
  const payload = JSON.stringify({ AttestationPolicy: Buffer.from(text, 'utf8').toString('base64url') });
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}.`;
}

/** PUT /ccnodes/v1/secrets/{name} as admin; returns the status. */
export async function putSecret(
  url: string,
  name: string,
  value: string,
  releasePolicy: unknown,
): Promise<number> {
  const res = await fetch(`${url}/ccnodes/v1/secrets/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${REAL_ADMIN_TOKEN}` },
    body: JSON.stringify({
      value: Buffer.from(value).toString('base64'),
      contentType: 'text/plain',
      releasePolicy,
    }),
  });
  await res.arrayBuffer();
  return res.status;
}
