/**
 * TDX v4 quotes built and signed end to end with the test PKI, with their collateral (a TDX TCB
 * Info v3 and the TD_QE identity), for the TDX verification specs. Every field not named in the
 * variation is a fixed production value, so a case differs from the control in one thing only.
 */
import { KeyObject, createHash, webcrypto } from 'node:crypto';
import {
  INTEL_QE_VENDOR_ID,
  TD_ATTRIBUTE_FLAGS,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  pemChainToCertificationData,
  type QuoteHeader,
  type RawCollateral,
  type TdReport,
  type VerifyOptions,
} from '../../src/core/index.ts';
import {
  DEFAULT_PLATFORM,
  QE_MRSIGNER,
  TEST_NOW,
  defaultQeIdentity,
  defaultTcbInfo,
  makeCrl,
  signText,
  signedDocument,
  type TestPki,
} from '../support/test-pki.ts';

const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** The module signer byte of the generated TDs (MRSIGNERSEAM is 48 of it). */
export const SEAM_SIGNER = 0x00;

/** The module identity fields of a TCB Info (`tdxModule` or one of `tdxModuleIdentities`). */
export interface ModuleJson {
  mrsigner: string;
  attributes: string;
  attributesMask: string;
}

/**
 * TDX TCB Info v3: the levels of the default test TCB Info with the given TDX TCB components
 * (16 SVNs, all 0 unless given), plus the given module fields.
 */
export function tdxTcbInfo(
  modules: {
    tdxModule?: ModuleJson;
    tdxModuleIdentities?: Record<string, unknown>[];
  },
  tdxComponents: readonly number[] = new Array<number>(16).fill(0),
): Record<string, unknown> {
  const base = defaultTcbInfo();
  const levels = (base['tcbLevels'] as { tcb: Record<string, unknown> }[]).map((l) => ({
    ...l,
    tcb: { ...l.tcb, tdxtcbcomponents: tdxComponents.map((svn) => ({ svn })) },
  }));
  return { ...base, id: 'TDX', ...modules, tcbLevels: levels };
}

export interface TdxCase {
  readonly quote: Uint8Array;
  readonly collateral: RawCollateral;
  readonly options: VerifyOptions;
}

/** What a case changes in the TD report; everything else is the production value. */
export interface TdVariation {
  /** TEE_TCB_SVN byte 0: the TDX module SVN. */
  readonly moduleSvn?: number;
  /** TEE_TCB_SVN byte 1: the TDX module major version. */
  readonly moduleMajor?: number;
  readonly mrSignerSeam?: Uint8Array;
  readonly seamAttributes?: bigint;
  /** TDATTRIBUTES; SEPT_VE_DISABLE alone unless given. */
  readonly tdAttributes?: bigint;
  /** REPORTDATA (64 bytes); 0x33 bytes unless given. */
  readonly reportData?: Uint8Array;
}

/**
 * A TDX v4 quote (ECDSA P-256 attestation key, QE report signed by the PCK, certification data
 * type 5 with the PCK chain) with its collateral signed by the test PKI's TCB signing key, and the
 * verify options that trust the test root at TEST_NOW.
 */
export async function buildTdxCase(
  pki: TestPki,
  tcbInfo: Record<string, unknown>,
  v: TdVariation = {},
): Promise<TdxCase> {
  const att = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const attPriv = KeyObject.from(att.privateKey);
  const jwk = KeyObject.from(att.publicKey).export({ format: 'jwk' });
  const attestationKey = Uint8Array.from([
    ...Buffer.from(jwk.x ?? '', 'base64url'),
    ...Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const binding = createHash('sha256').update(attestationKey).update(qeAuthData).digest();
  const qeReportRaw = encodeReportBody(
    emptyReportBody({
      cpuSvn: Uint8Array.from(DEFAULT_PLATFORM.components),
      attributes: { flags: 0x15n, xfrm: 0xe7n },
      mrSigner: new Uint8Array(Buffer.from(QE_MRSIGNER, 'hex')),
      isvProdId: 1,
      isvSvn: 8,
      reportData: Uint8Array.from([...binding, ...zeros(32)]),
    }),
  );
  const teeTcbSvn = zeros(16);
  teeTcbSvn[0] = v.moduleSvn ?? 0;
  teeTcbSvn[1] = v.moduleMajor ?? 0;
  const report: TdReport = {
    version: '1.0',
    teeTcbSvn,
    mrSeam: new Uint8Array(48).fill(0x44),
    mrSignerSeam: v.mrSignerSeam ?? new Uint8Array(48).fill(SEAM_SIGNER),
    seamAttributes: v.seamAttributes ?? 0n,
    tdAttributes: v.tdAttributes ?? TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE,
    xfam: 0xe7n,
    mrTd: new Uint8Array(48).fill(0x55),
    mrConfigId: zeros(48),
    mrOwner: zeros(48),
    mrOwnerConfig: zeros(48),
    rtmr: [zeros(48), zeros(48), zeros(48), zeros(48)],
    reportData: v.reportData ?? new Uint8Array(64).fill(0x33),
  };
  const header: QuoteHeader = {
    version: 4,
    attestationKeyType: 2,
    teeType: 0x81,
    qeSvn: 0,
    pceSvn: 0,
    qeVendorId: INTEL_QE_VENDOR_ID,
    userData: zeros(20),
  };
  const body = { kind: 'td10' as const, report };
  const quote = encodeQuote({
    header,
    body,
    signature: signText(attPriv, encodeQuoteSignedData({ header, body })),
    attestationKey,
    qeReport: qeReportRaw,
    qeReportSignature: signText(pki.pck.privateKey, qeReportRaw),
    qeAuthData,
    certification: {
      type: 5,
      data: pemChainToCertificationData([pki.pck.pem, pki.processorCa.pem, pki.root.pem]),
    },
  });
  const collateral: RawCollateral = {
    tcbInfo: signedDocument('tcbInfo', JSON.stringify(tcbInfo), pki.tcbSigning.privateKey),
    tcbInfoIssuerChain: pki.tcbSigning.pem + pki.root.pem,
    qeIdentity: signedDocument(
      'enclaveIdentity',
      JSON.stringify({ ...defaultQeIdentity(), id: 'TD_QE' }),
      pki.tcbSigning.privateKey,
    ),
    qeIdentityIssuerChain: pki.tcbSigning.pem + pki.root.pem,
    pckCrl: await makeCrl(pki.processorCa),
    pckCrlIssuerChain: pki.processorCa.pem + pki.root.pem,
    rootCaCrl: await makeCrl(pki.root),
  };
  return { quote, collateral, options: { now: TEST_NOW, dangerous: { extraTrustAnchors: [pki.root.pem] } } };
}
