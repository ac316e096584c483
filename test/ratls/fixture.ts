/**
 * One simulated platform (fixed seed), its collateral at a fixed time, and RA-TLS certificates made
 * on it, shared by the RA-TLS specs.
 */
import { webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  Extension,
  X509Certificate,
  X509CertificateGenerator,
  cryptoProvider,
} from '@peculiar/x509';
import type { RawCollateral } from '../../src/core/index.ts';
import {
  createRatlsCertificate,
  simulatedQuoter,
  type CreatedRatls,
  type RatlsFormat,
  type SimulatedEnclaveIdentity,
} from '../../src/ratls/index.ts';
import { SimDcap, simPlatformPreset, type SimPlatform } from '../../src/sim/index.ts';
import https from 'node:https';

cryptoProvider.set(webcrypto);

export const NOW = new Date('2026-06-01T12:00:00Z');
export const MRENCLAVE = 'a1'.repeat(32);
export const MRSIGNER = 'b2'.repeat(32);
export const OTHER = 'c3'.repeat(32);
export const IDENTITY: SimulatedEnclaveIdentity = {
  mrEnclave: Buffer.from(MRENCLAVE, 'hex'),
  mrSigner: Buffer.from(MRSIGNER, 'hex'),
  isvProdId: 7,
  isvSvn: 3,
};

export interface Sim {
  readonly dcap: SimDcap;
  readonly platform: SimPlatform;
  readonly collateral: RawCollateral;
  readonly rootPem: string;
}

let sim: Sim | undefined;
export function simulation(): Sim {
  if (sim === undefined) {
    const dcap = SimDcap.create({ seed: 'ratls-spec', platforms: [simPlatformPreset('up-to-date').config] });
    const platform = dcap.platform('up-to-date');
    sim = { dcap, platform, collateral: dcap.collateral(platform, { now: NOW }), rootPem: dcap.rootPem };
  }
  return sim;
}

/** A certificate valid around NOW from the simulated platform. */
export function makeCert(
  format: RatlsFormat,
  identity: SimulatedEnclaveIdentity = IDENTITY,
): Promise<CreatedRatls> {
  return createRatlsCertificate({
    format,
    quoter: simulatedQuoter(simulation().platform, identity),
    notBefore: new Date(NOW.getTime() - 86_400_000),
    notAfter: new Date(NOW.getTime() + 365 * 86_400_000),
  });
}

/** Base verify options: the simulated collateral and root at NOW. */
export function verifyOptions(): { collateral: RawCollateral; now: Date; trustSimulatedRoot: string } {
  const s = simulation();
  return { collateral: s.collateral, now: NOW, trustSimulatedRoot: s.rootPem };
}

/** The value of the certificate's extension `oid`. */
export function extensionOf(der: Uint8Array, oid: string): Uint8Array {
  const e = new X509Certificate(der).extensions.find((x) => x.type === oid);
  if (e === undefined) throw new Error(`no ${oid}`);
  return new Uint8Array(e.value);
}

/**
 * A self-signed certificate with the given extensions. `keys` default to a fresh P-256 pair;
 * `signer` signs it instead of the certified key when given (a certificate its key did not sign).
 */
export async function customCert(
  extensions: { oid: string; value: Uint8Array }[],
  options: { signer?: webcrypto.CryptoKey; keys?: webcrypto.CryptoKeyPair } = {},
): Promise<Uint8Array> {
  const keys =
    options.keys ??
    (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']));
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: '02',
    name: 'CN=custom',
    notBefore: new Date(NOW.getTime() - 86_400_000),
    notAfter: new Date(NOW.getTime() + 86_400_000),
    keys: { publicKey: keys.publicKey, privateKey: options.signer ?? keys.privateKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new BasicConstraintsExtension(false),
      ...extensions.map((e) => new Extension(e.oid, false, e.value)),
    ],
  });
  return new Uint8Array(cert.rawData);
}

/** The `code` of what `fn` throws, or `accepted` when it returns. */
export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'accepted';
}

/** GET / on 127.0.0.1:`port` through `agent`; resolves with the body. */
export function httpsGet(port: number, agent: https.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve(body);
        });
      })
      .on('error', reject);
  });
}
