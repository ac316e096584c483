/**
 * Trust anchors for DCAP chains. Intel's SGX Root CA is pinned by its public key (as Intel's QvE
 * does), so a self-made root with the same subject is refused. The ccnodes simulated root is
 * recognised by its CN and accepted only when exactly that certificate is supplied by the caller.
 */
import { parseCertificate, pemCertificates, toHex, type ParsedCert } from './x509.ts';

/** Uncompressed P-256 public key of the Intel SGX Root CA (spec/dcap.md §2). */
export const INTEL_SGX_ROOT_CA_PUBLIC_KEY =
  '040ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5' +
  '67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394';

/** The Intel SGX Root CA certificate (serial 22650CD6…, valid 2018-05-21 to 2049-12-31). */
export const INTEL_SGX_ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIwaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi71OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOBuzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJMEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SVUr9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYIKoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwgAiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
`;

/** CN of the ccnodes simulated root (src/sim); chains ending there are refused by default. */
export const SIMULATED_ROOT_CN = 'ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)';

/** How a chain's root was accepted. */
export type RootKind = 'intel' | 'simulated' | 'extra';

/** Parses a trust anchor given as PEM text or DER bytes. Returns undefined if unusable. */
export function parseAnchor(anchor: string | Uint8Array): ParsedCert | undefined {
  try {
    if (typeof anchor === 'string') {
      const [der] = pemCertificates(anchor);
      return der === undefined ? undefined : parseCertificate(der);
    }
    return parseCertificate(anchor);
  } catch {
    return undefined;
  }
}

/** Anchors in effect for one verification (pre-parsed once per options object by the verifier). */
export interface TrustAnchors {
  readonly simulatedRoot: ParsedCert | undefined;
  readonly extra: readonly ParsedCert[];
}

/**
 * Classifies a chain root (already checked to be self-signed): Intel by pinned key, the exact
 * simulated root if trusted, or an extra anchor (exact certificate). Returns the failure reason
 * as `'untrusted' | 'simulated-untrusted'` otherwise.
 */
export function classifyRoot(
  root: ParsedCert,
  anchors: TrustAnchors,
): RootKind | 'untrusted' | 'simulated-untrusted' {
  if (root.publicKeyHex === INTEL_SGX_ROOT_CA_PUBLIC_KEY && root.selfIssued) return 'intel';
  if (root.subjectCn === SIMULATED_ROOT_CN) {
    return anchors.simulatedRoot !== undefined && sameCert(anchors.simulatedRoot, root)
      ? 'simulated'
      : 'simulated-untrusted';
  }
  if (anchors.extra.some((a) => sameCert(a, root))) return 'extra';
  return 'untrusted';
}

function sameCert(a: ParsedCert, b: ParsedCert): boolean {
  return a === b || toHex(a.der) === toHex(b.der);
}
