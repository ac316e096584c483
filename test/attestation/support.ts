/**
 * Test support for the attestation service: a service in a temp data dir on 127.0.0.1:0 whose
 * verifier is, by default, the real DCAP verifier (`createDcapEvidenceVerifier`, as the CLI builds it
 * with `--trust-simulated-root`) fed by a seeded simulated DCAP deployment (src/sim): real ECDSA
 * quotes from simulated platforms and real signed collateral. Tests state the evidence they mean
 * with {@link simQuote} (report fields, debug flag, TCB status through the platform presets).
 *
 * A stand-in verifier ({@link fakeVerifier}, reading the "quote" as JSON) is still exported for the
 * rare test that needs a verifier outcome the real path cannot produce cheaply; such a test passes
 * it explicitly and says why in a comment.
 */
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  EvidenceError,
  type AttestationService,
  type AttestationServiceConfig,
  type CollateralHashes,
  type CollateralProvider,
  type CollateralRequest,
  type EvidenceVerifier,
  type VerifiedEvidence,
} from '../../src/attestation/index.ts';
import {
  emptyReportBody,
  prepareCollateral,
  type PreparedCollateral,
  type RawCollateral,
} from '../../src/core/index.ts';
import { createSimDcap, type SimDcap, type SimPlatform } from '../../src/sim/index.ts';

export const MRENCLAVE = 'aa'.repeat(32);
export const MRSIGNER = 'bb'.repeat(32);
/** ISVPRODID and ISVSVN of {@link simQuote} unless the test names others. */
export const ISV_PROD_ID = 1;
export const ISV_SVN = 2;
/** The simulated platform preset quotes come from unless a test names another (TCB UpToDate). */
export const DEFAULT_PLATFORM = 'up-to-date';

// ---------------------------------------------------------------------------------------------
// Real path: simulated DCAP deployment, real quotes, real verifier.

let sharedDcap: SimDcap | undefined;

/**
 * The simulated DCAP deployment the attestation tests share: a seeded PKI (the same keys on every
 * run) and every platform preset of src/sim/platforms.ts. Built on first use (about half a second).
 */
export function testDcap(): SimDcap {
  sharedDcap ??= createSimDcap({ seed: 'ccnodes-attestation-test-support' });
  return sharedDcap;
}

/** What {@link simQuote} puts in the quoted report body (hex strings; shorter values are zero-padded). */
export interface SimEvidence {
  /** MRENCLAVE, 32 bytes hex (default {@link MRENCLAVE}). */
  mrEnclave?: string;
  /** MRSIGNER, 32 bytes hex (default {@link MRSIGNER}). */
  mrSigner?: string;
  /** REPORTDATA, up to 64 bytes hex (default zeros); see {@link bindingFor}. */
  reportData?: string;
  /** CONFIGID, up to 64 bytes hex (default zeros). */
  configId?: string;
  /** ATTRIBUTES.DEBUG (default false). The verifier refuses it unless the debug relaxation is on. */
  debug?: boolean;
  isvProdId?: number;
  isvSvn?: number;
  /**
   * Simulated platform preset the quote comes from, which decides the TCB status the verifier
   * finds (e.g. 'sw-hardening-needed', 'out-of-date', 'revoked', 'revoked-pck'; see SIM_PLATFORM_PRESETS).
   */
  platform?: string;
  /** A complete 384-byte report body (e.g. from a SimCpu EREPORT) instead of the fields above. */
  reportBody?: Uint8Array;
}

function fixedBytes(hex: string | undefined, n: number, field: string): Uint8Array {
  const out = new Uint8Array(n);
  if (hex === undefined) return out;
  const b = Buffer.from(hex, 'hex');
  if (b.length * 2 !== hex.length || b.length > n)
    throw new Error(`simQuote: ${field} must be ≤ ${n} bytes of hex`);
  out.set(b);
  return out;
}

/** A real ECDSA quote (v3, certification data type 5) from a simulated platform, as raw bytes. */
export function simQuoteBytes(e: SimEvidence = {}, dcap: SimDcap = testDcap()): Uint8Array {
  const platform = dcap.platform(e.platform ?? DEFAULT_PLATFORM);
  if (e.reportBody !== undefined) return platform.quote(e.reportBody);
  const body = platform.syntheticReportBody({
    reportData: fixedBytes(e.reportData, 64, 'reportData'),
    mrEnclave: fixedBytes(e.mrEnclave ?? MRENCLAVE, 32, 'mrEnclave'),
    mrSigner: fixedBytes(e.mrSigner ?? MRSIGNER, 32, 'mrSigner'),
    isvProdId: e.isvProdId ?? ISV_PROD_ID,
    isvSvn: e.isvSvn ?? ISV_SVN,
    debug: e.debug ?? false,
  });
  return platform.quote(
    e.configId === undefined
      ? body
      : emptyReportBody({ ...body, configId: fixedBytes(e.configId, 64, 'configId') }),
  );
}

/** base64url of {@link simQuoteBytes} (what the attest endpoints take in `quote`). */
export function simQuote(e: SimEvidence = {}, dcap: SimDcap = testDcap()): string {
  return Buffer.from(simQuoteBytes(e, dcap)).toString('base64url');
}

/** A copy of a quote with one byte of its signed ISV report body flipped (the signature then fails). */
export function tamperedQuote(quote: Uint8Array, offset = 48 + 64): Uint8Array {
  const c = Uint8Array.from(quote);
  c[offset] = (c[offset] ?? 0) ^ 0xff;
  return c;
}

const collateralSets = new WeakMap<SimDcap, Map<string, PreparedCollateral>>();

/**
 * The collateral the default verifier is served for `platform`: signed once per deployment, FMSPC
 * and PCK CA (at first use; valid for the simulation's 30 days) and prepared once, as the CLI does
 * with an offline bundle — so `x-ms-sgx-collateral` hashes are stable and tests can state them.
 */
export function simCollateral(
  platform: string = DEFAULT_PLATFORM,
  dcap: SimDcap = testDcap(),
): RawCollateral {
  return preparedFor(dcap, dcap.platform(platform)).raw;
}

function preparedFor(dcap: SimDcap, p: SimPlatform, tee: 'sgx' | 'tdx' = 'sgx'): PreparedCollateral {
  let sets = collateralSets.get(dcap);
  if (sets === undefined) {
    sets = new Map();
    collateralSets.set(dcap, sets);
  }
  const key = `${tee}/${p.config.fmspc.toUpperCase()}/${p.config.ca}`;
  let set = sets.get(key);
  if (set === undefined) {
    set = prepareCollateral(tee === 'tdx' ? dcap.tdxCollateral(p) : dcap.collateral(p));
    sets.set(key, set);
  }
  return set;
}

/** Options of {@link simCollateralProvider}. */
export interface SimCollateralOptions {
  /**
   * Sign fresh collateral at each request, issued at this time (a test clock), instead of serving
   * the set signed once per deployment.
   */
  now?: () => Date;
  /** Rewrites the collateral before it is handed to the verifier (fresh collateral at each request). */
  transform?: (raw: RawCollateral) => RawCollateral;
  /** Receives every collateral set handed out (to hash it independently). */
  served?: (raw: RawCollateral, request: CollateralRequest) => void;
}

/**
 * A collateral provider over the simulated deployment: by default the shared, prepared set of
 * {@link simCollateral}; with `now` or `transform`, collateral signed afresh for each request.
 */
export function simCollateralProvider(
  dcap: SimDcap = testDcap(),
  options: SimCollateralOptions = {},
): CollateralProvider {
  const fresh = options.now !== undefined || options.transform !== undefined;
  return (req) => {
    const p = dcap.platforms.find(
      (x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca,
    );
    if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}/${req.ca}`));
    if (!fresh) {
      const set = preparedFor(dcap, p, req.tee);
      options.served?.(set.raw, req);
      return Promise.resolve(set);
    }
    const at = options.now === undefined ? {} : { now: options.now() };
    // TDX quotes (`/attest/TdxVm`) get the TDX TCB Info and TD_QE identity of the same platform.
    const base = req.tee === 'tdx' ? dcap.tdxCollateral(p, at) : dcap.collateral(p, at);
    const raw = options.transform === undefined ? base : options.transform(base);
    options.served?.(raw, req);
    return Promise.resolve(raw);
  };
}

/**
 * The `x-ms-sgx-collateral` object MAA defines for a quote verified with `collateral`: SHA-256 (hex)
 * of the QE Identity issuer chain, the Root CA CRL (which covers the QE Identity chain), the QE
 * Identity, the quote, the TCB Info issuer chain, the PCK CRL, and the TCB Info.
 */
export function expectedCollateralHashes(
  quote: Uint8Array | string,
  collateral: RawCollateral = simCollateral(),
): CollateralHashes {
  const h = (x: Uint8Array | string): string => createHash('sha256').update(x).digest('hex');
  const q = typeof quote === 'string' ? Buffer.from(quote, 'base64url') : quote;
  return {
    qeidcertshash: h(collateral.qeIdentityIssuerChain),
    qeidcrlhash: h(collateral.rootCaCrl),
    qeidhash: h(collateral.qeIdentity),
    quotehash: h(q),
    tcbinfocertshash: h(collateral.tcbInfoIssuerChain),
    tcbinfocrlhash: h(collateral.pckCrl),
    tcbinfohash: h(collateral.tcbInfo),
  };
}

/** Options of {@link simVerifier}; `now` is also the verifier's clock. */
export interface SimVerifierOptions extends SimCollateralOptions {
  /** Trust the simulated root (CLI `--trust-simulated-root`; default true). */
  trustSimulatedRoot?: boolean;
  /** CLI `--dangerously-allow-debug-enclaves` (default false). */
  allowDebugEnclave?: boolean;
  /** The deployment to trust and serve collateral from (default {@link testDcap}). */
  dcap?: SimDcap;
}

/** The service's DCAP verifier over the simulated deployment, built as the CLI builds it. */
export function simVerifier(o: SimVerifierOptions = {}): EvidenceVerifier {
  const dcap = o.dcap ?? testDcap();
  const { now, transform, served } = o;
  return createDcapEvidenceVerifier({
    collateral: simCollateralProvider(dcap, {
      ...(now === undefined ? {} : { now }),
      ...(transform === undefined ? {} : { transform }),
      ...(served === undefined ? {} : { served }),
    }),
    ...(now === undefined ? {} : { now }),
    ...(o.trustSimulatedRoot === false ? {} : { trustSimulatedRoot: dcap.rootPem }),
    ...(o.allowDebugEnclave === true ? { dangerous: { allowDebugEnclave: true } } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Stand-in path (opt-in only).

/** What the stand-in verifier accepts as a "quote". */
export interface FakeEvidence {
  mrEnclave?: string;
  mrSigner?: string;
  reportData?: string;
  configId?: string;
  debug?: boolean;
  simulated?: boolean;
  isvProdId?: number;
  isvSvn?: number;
  tcbStatus?: string;
  /** Make the verifier reject, as a bad signature would. */
  reject?: boolean;
}

/**
 * A stand-in verifier (see module doc): NOT the default. Only for outcomes the real path cannot
 * produce cheaply; the test that uses it passes it as `verifier` and says why.
 */
export const fakeVerifier: EvidenceVerifier = (quote) => {
  const e = JSON.parse(Buffer.from(quote).toString('utf8')) as FakeEvidence;
  if (e.reject === true) {
    return Promise.reject(
      new EvidenceError('ERR_ATTEST_EVIDENCE_REJECTED', 'quote signature does not verify'),
    );
  }
  const bytes = (hex: string | undefined, n: number): Uint8Array => {
    const b = new Uint8Array(n);
    if (hex !== undefined) b.set(Buffer.from(hex, 'hex').subarray(0, n));
    return b;
  };
  const out: VerifiedEvidence = {
    report: {
      attributes: { flags: e.debug === true ? 0x7n : 0x5n, xfrm: 0x3n },
      mrEnclave: bytes(e.mrEnclave ?? MRENCLAVE, 32),
      mrSigner: bytes(e.mrSigner ?? MRSIGNER, 32),
      isvProdId: e.isvProdId ?? 1,
      isvSvn: e.isvSvn ?? 2,
      configId: bytes(e.configId, 64),
      configSvn: 0,
      isvExtProdId: new Uint8Array(16),
      isvFamilyId: new Uint8Array(16),
      reportData: bytes(e.reportData, 64),
    },
    tcbStatus: e.tcbStatus ?? 'UpToDate',
    advisoryIds: [],
    simulated: e.simulated ?? false,
    relaxations: [],
    collateral: {
      qeidcertshash: '01'.repeat(32),
      qeidcrlhash: '02'.repeat(32),
      qeidhash: '03'.repeat(32),
      quotehash: createHash('sha256').update(quote).digest('hex'),
      tcbinfocertshash: '04'.repeat(32),
      tcbinfocrlhash: '05'.repeat(32),
      tcbinfohash: '06'.repeat(32),
    },
  };
  return Promise.resolve(out);
};

/** base64url of a fake quote. */
export function fakeQuote(e: FakeEvidence): string {
  return Buffer.from(JSON.stringify(e)).toString('base64url');
}

/** REPORTDATA hex binding `runtimeData` (SHA-256 in the first half). */
export function bindingFor(runtimeData: Uint8Array | string): string {
  return createHash('sha256').update(runtimeData).digest('hex') + '00'.repeat(32);
}

export const ADMIN_TOKEN = 'admin-secret-token-for-tests';

/** A started service plus its base URL; the temp dir is removed on close. */
export interface Started {
  readonly service: AttestationService;
  readonly url: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Options of {@link startService}: service configuration plus test conveniences. */
export type StartOptions = Partial<AttestationServiceConfig> & {
  dataDir?: string;
  keepDir?: boolean;
  /** How the default verifier ({@link simVerifier}) is built; ignored when `verifier` is given. */
  sim?: SimVerifierOptions;
};

/**
 * Starts a service on 127.0.0.1:0 (the issuer is the listening URL). Unless `verifier` is given, it
 * verifies with {@link simVerifier}`(sim)` and — like the CLI with `--trust-simulated-root` — runs in
 * simulation mode (`simulationMode` defaults to whether the simulated root is trusted; with a
 * caller's own verifier it defaults to false, production).
 */
export async function startService(overrides: StartOptions = {}): Promise<Started> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'ccnodes-attest-'));
  // Listen first on a placeholder app to learn the port? Simpler: pick the issuer after listen by
  // building with a provisional URL, then rebuilding is wasteful — so bind a port first.
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => {
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
    s.on('error', reject);
  });
  const url = `http://127.0.0.1:${port}`;
  const { sim, keepDir, ...config } = overrides;
  const service = await createAttestationService({
    adminToken: ADMIN_TOKEN,
    ...config,
    verifier: config.verifier ?? simVerifier(sim),
    simulationMode:
      config.simulationMode ?? (config.verifier === undefined && sim?.trustSimulatedRoot !== false),
    dataDir,
    publicUrl: overrides.publicUrl ?? url,
  });
  await service.app.listen({ host: '127.0.0.1', port });
  return {
    service,
    url,
    dataDir,
    close: async () => {
      await service.close();
      if (keepDir !== true) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POSTs JSON and returns status + parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  };
}

/**
 * `POST /attest/SgxEnclave` with a quote and the runtime data it binds (Binary or JSON); status,
 * parsed body and headers.
 */
export function attestSgx(
  url: string,
  quote: Uint8Array,
  runtimeData: Uint8Array,
  dataType: 'Binary' | 'JSON' = 'Binary',
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  return postJson(`${url}/attest/SgxEnclave?api-version=2022-08-01`, {
    quote: Buffer.from(quote).toString('base64url'),
    runtimeData: { data: Buffer.from(runtimeData).toString('base64url'), dataType },
  });
}

/** An unsigned policy-management JWS carrying `text` (`{"AttestationPolicy": base64url(text)}`). */
export function unsignedPolicyJws(text: string): string {
  const payload = JSON.stringify({ AttestationPolicy: Buffer.from(text, 'utf8').toString('base64url') });
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}.`;
}

/** `PUT /ccnodes/v1/secrets/{name}` (text/plain `value`) with the admin bearer; returns the status. */
export async function putSecretAsAdmin(
  url: string,
  name: string,
  value: string,
  releasePolicy: unknown,
): Promise<number> {
  const res = await fetch(`${url}/ccnodes/v1/secrets/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      value: Buffer.from(value).toString('base64'),
      contentType: 'text/plain',
      releasePolicy,
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Decodes a JWT's header and payload without verifying. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** A self-signed certificate and its key, PEM (RSA-2048 or EC P-256), optionally with an IP SAN. */
export async function selfSignedPem(options: {
  cn: string;
  ec?: boolean;
  ipSan?: string;
}): Promise<{ certPem: string; keyPem: string; certDer: Uint8Array }> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const alg =
    options.ec === true
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          hash: 'SHA-256',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
        };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: `CN=${options.cn}`,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 86400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        ...(options.ipSan === undefined
          ? []
          : [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: options.ipSan }])]),
      ],
    },
    webcrypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem, certDer: new Uint8Array(cert.rawData) };
}
