/**
 * Real RA-TLS certificates from other projects (test/ratls/vectors/PROVENANCE.md): a Gramine
 * certificate and an Open Enclave one parse, bind their keys the way their projects do, and their
 * quotes are checked. Neither vector ships collateral for its platform, so the Gramine quote is
 * checked by `ratls verify` up to the PCK chain (step 2, Intel's pinned root) and the steps that
 * need no collateral — QE report signature, QE report data, quote signature — are checked here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INTEL_SGX_ROOT_CA_PEM, pemCertificates, type ReportBody } from '../../src/core/index.ts';
import {
  checkKeyBinding,
  parseRatlsCertificate,
  type ParsedRatlsCertificate,
} from '../../src/ratls/index.ts';
import { runCapture } from '../support/cli.ts';

const vector = (name: string): string => fileURLToPath(new URL(`vectors/${name}`, import.meta.url));
const GRAMINE = vector('gramine-konvera-tlscert.pem');
const OE = vector('openenclave-sgx_cert_ec_bad.der');
const REAL_COLLATERAL = fileURLToPath(
  new URL('../../examples/real-quote/sgx_quote_collateral.json', import.meta.url),
);

/** The quote checks that need no collateral, as Intel's verifier does them. */
function checkQuoteSignatures(parsed: ParsedRatlsCertificate): void {
  const q = parsed.evidence.quote;
  const chain = pemCertificates(Buffer.from(q.certification.data).toString('latin1')).map(
    (d) => new X509Certificate(Buffer.from(d)),
  );
  assert.equal(chain.length, 3, 'PCK, PCK CA, root');
  const [pck, ca, root] = chain as [X509Certificate, X509Certificate, X509Certificate];
  assert.ok(pck.verify(ca.publicKey) && ca.verify(root.publicKey), 'PCK chain signatures');
  const intel = new X509Certificate(INTEL_SGX_ROOT_CA_PEM);
  assert.ok(root.publicKey.equals(intel.publicKey), "the chain ends in Intel's SGX Root CA key");
  assert.ok(
    verify('sha256', q.qeReportRaw, { key: pck.publicKey, dsaEncoding: 'ieee-p1363' }, q.qeReportSignature),
    'QE report signed by the PCK key',
  );
  const binding = createHash('sha256').update(q.attestationKey).update(q.qeAuthData).digest();
  assert.deepEqual(
    Buffer.from(q.qeReport.reportData.subarray(0, 32)),
    binding,
    'QE report data binds the attestation key',
  );
  const ak = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(q.attestationKey.subarray(0, 32)).toString('base64url'),
      y: Buffer.from(q.attestationKey.subarray(32)).toString('base64url'),
    },
    format: 'jwk',
  });
  assert.ok(
    verify('sha256', q.signedData, { key: ak, dsaEncoding: 'ieee-p1363' }, q.signature),
    'quote signed by the attestation key',
  );
}

describe('third-party RA-TLS certificates', () => {
  test('Gramine: legacy extension, SHA-256(SPKI) binding, the upstream MRENCLAVE/MRSIGNER, a genuine quote', () => {
    const parsed = parseRatlsCertificate(readFileSync(GRAMINE));
    assert.equal(parsed.evidence.format, 'gramine');
    assert.equal(parsed.evidence.oid, '0.6.9.42.840.113741.1337.6');
    assert.equal(parsed.subject, 'CN=RATLS, O=GramineDevelopers, C=US');
    assert.deepEqual(checkKeyBinding(parsed), {
      keyBinding: 'spki-sha256',
      keyHash: 'e85653f309bf2d3b958f2c11129454fd20d30af04c6a42338016557c0f7b4c30',
    });
    const report = parsed.evidence.quote.body.report as ReportBody;
    assert.equal(
      Buffer.from(report.mrEnclave).toString('hex'),
      'f94ccbe6a504676b2edbefdcb8781a512913f7d8864c6f88592a843d0f9d4a66',
    );
    assert.equal(
      Buffer.from(report.mrSigner).toString('hex'),
      '285dd1a739713e723e46f5964310423e21ed08d6d966f890ccb1d4ef9ddec9dd',
    );
    checkQuoteSignatures(parsed);
  });

  test('Gramine through `ratls verify`: passes parse, self-signature, binding and the PCK chain; stops at the CRLs (no collateral for FMSPC 00606A000000)', async () => {
    const r = await runCapture([
      'ratls',
      'verify',
      GRAMINE,
      '--collateral',
      REAL_COLLATERAL,
      '--now',
      '2025-07-19T10:01:17Z',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { error: { code: string; step: number } };
    assert.deepEqual([out.error.code, out.error.step], ['ERR_VERIFY_CRL_ISSUER', 3]);
  });

  test("Open Enclave: old OE OID, SHA-256(PEM ‖ NUL) binding, and refused as Open Enclave's test expects", async () => {
    const parsed = parseRatlsCertificate(readFileSync(OE));
    assert.equal(parsed.evidence.format, 'ego');
    assert.equal(parsed.evidence.oid, '1.2.840.113556.10.1.1');
    assert.equal(checkKeyBinding(parsed).keyBinding, 'oe-pem');
    const r = await runCapture([
      'ratls',
      'verify',
      OE,
      '--collateral',
      REAL_COLLATERAL,
      '--now',
      '2025-07-19T10:01:17Z',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { error: { code: string } }).error.code,
      'ERR_RATLS_CERT_SIGNATURE',
    );
  });
});
