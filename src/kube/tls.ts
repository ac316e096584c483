/**
 * Development and render-time TLS for the webhook: a fresh self-signed CA (ECDSA P-256) and a serving
 * certificate from it for the webhook Service's DNS names (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`,
 * `<svc>.<ns>.svc.cluster.local`) plus whatever else is asked (e.g. `localhost`, `127.0.0.1`).
 * Keys never leave the returned object except as PEM the caller chooses to write.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { KubeTlsError } from './errors.ts';

x509.cryptoProvider.set(webcrypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A CA that can issue more serving certificates (kept in memory only). */
export interface WebhookCa {
  readonly cert: x509.X509Certificate;
  readonly privateKey: webcrypto.CryptoKey;
}

/** PEM-encoded CA certificate, serving certificate and the serving key (PKCS#8), plus the CA handle. */
export interface WebhookTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly ca: WebhookCa;
}

/** The DNS names the API server uses to reach a webhook Service. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

async function newCa(notBefore: Date, notAfter: Date): Promise<WebhookCa> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=ccnodes webhook CA ${serial().slice(0, 8)}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

/**
 * Generates a serving certificate for `names` (DNS names or IP addresses), valid `days`, from
 * `options.ca` or from a fresh CA.
 */
export async function generateWebhookTls(
  names: readonly string[],
  options: { days?: number; now?: Date; ca?: WebhookCa } = {},
): Promise<WebhookTls> {
  if (names.length === 0)
    throw new KubeTlsError('at least one DNS name or IP address is needed for the serving certificate');
  try {
    const now = options.now ?? new Date();
    const notBefore = new Date(now.getTime() - 5 * 60_000);
    const notAfter = new Date(now.getTime() + (options.days ?? 825) * 86_400_000);
    const ca = options.ca ?? (await newCa(notBefore, notAfter));
    const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${names[0] ?? 'ccnodes-webhook'}`,
      issuer: ca.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: leafKeys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((n) =>
            isIP(n) === 0 ? { type: 'dns' as const, value: n } : { type: 'ip' as const, value: n },
          ),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      ],
    });
    const keyDer = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
    return {
      ca,
      caPem: ca.cert.toString('pem') + '\n',
      certPem: leaf.toString('pem') + '\n',
      keyPem: pem('PRIVATE KEY', keyDer),
    };
  } catch (cause) {
    throw new KubeTlsError(
      `could not generate the webhook certificates: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
}
