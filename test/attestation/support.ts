/**
 * Test support for the attestation service: a service in a temp data dir on 127.0.0.1:0, and a
 * stand-in verifier for pipeline tests that do not need real quotes. The stand-in reads the "quote"
 * as JSON naming the report fields, so each test states the evidence it means.
 */
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  EvidenceError,
  type AttestationService,
  type AttestationServiceConfig,
  type EvidenceVerifier,
  type VerifiedEvidence,
} from '../../src/attestation/index.ts';

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

export const MRENCLAVE = 'aa'.repeat(32);
export const MRSIGNER = 'bb'.repeat(32);

/** A stand-in verifier (see module doc). */
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

/** Starts a service on 127.0.0.1:0 (the issuer is the listening URL). */
export async function startService(
  overrides: Partial<AttestationServiceConfig> & { dataDir?: string; keepDir?: boolean } = {},
): Promise<Started> {
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
  const service = await createAttestationService({
    verifier: fakeVerifier,
    simulationMode: false,
    adminToken: ADMIN_TOKEN,
    ...overrides,
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
      if (overrides.keepDir !== true) rmSync(dataDir, { recursive: true, force: true });
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
