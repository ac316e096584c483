/**
 * The TDX half of the simulated collateral (spec/dcap.md §5): TCB Info v3 with `id` "TDX" (the SGX
 * levels of the simulated TCB policy, each with `tdxtcbcomponents`, plus `tdxModule` and
 * `tdxModuleIdentities`) and the QE Identity of the simulated TD quoting enclave (`id` "TD_QE").
 * Same shape, member order and signature as Intel's PCS serves them under
 * `/tdx/certification/v4/tcb` and `/tdx/certification/v4/qe/identity`.
 */
import {
  collateralWindow,
  signedCollateralDocument,
  signedQeIdentity,
  type SimIssueOptions,
} from './collateral.ts';
import type { SimQeIdentitySpec, SimTcbInfoSpec, SimTcbStatus } from './collateral.ts';
import type { SimPki } from './pki.ts';

/** One TCB level of a TDX module identity (by the module's minor SVN, TEE_TCB_SVN[0]). */
export interface SimTdxModuleLevel {
  readonly isvSvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: SimTcbStatus;
  readonly advisoryIds: readonly string[];
}

/** The TDX module identity (`tdxModule` and one `tdxModuleIdentities` entry). */
export interface SimTdxModuleSpec {
  /** `TDX_<major as 2 hex digits>`, e.g. `TDX_01`. */
  readonly id: string;
  /** MRSIGNERSEAM the module must carry, 96 hex digits. */
  readonly mrsigner: string;
  /** SEAMATTRIBUTES and their mask, 16 hex digits each. */
  readonly attributes: string;
  readonly attributesMask: string;
  /** Highest SVN first. */
  readonly levels: readonly SimTdxModuleLevel[];
}

/** What a TDX TCB Info adds to the SGX one of the same FMSPC. */
export interface SimTdxTcbInfoSpec extends SimTcbInfoSpec {
  /** The 16 TDX TCB component SVNs every level requires (compared with TEE_TCB_SVN). */
  readonly tdxComponents: readonly number[];
  readonly module: SimTdxModuleSpec;
}

function withAdvisories<T extends object>(level: T, advisoryIds: readonly string[]): T {
  return advisoryIds.length === 0 ? level : { ...level, advisoryIDs: [...advisoryIds] };
}

/** The TDX TCB Info response body for `spec`, issued at `options.now`. */
export function signedTdxTcbInfo(pki: SimPki, spec: SimTdxTcbInfoSpec, options: SimIssueOptions): string {
  const { issueDate, nextUpdate } = collateralWindow(options);
  const m = spec.module;
  const moduleFields = {
    mrsigner: m.mrsigner.toUpperCase(),
    attributes: m.attributes.toUpperCase(),
    attributesMask: m.attributesMask.toUpperCase(),
  };
  const inner = JSON.stringify({
    id: 'TDX',
    version: 3,
    issueDate,
    nextUpdate,
    fmspc: spec.fmspc.toUpperCase(),
    pceId: spec.pceId.toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: spec.tcbEvaluationDataNumber,
    tdxModule: moduleFields,
    tdxModuleIdentities: [
      {
        id: m.id,
        ...moduleFields,
        tcbLevels: m.levels.map((l) =>
          withAdvisories(
            { tcb: { isvsvn: l.isvSvn }, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus },
            l.advisoryIds,
          ),
        ),
      },
    ],
    tcbLevels: spec.levels.map((level) =>
      withAdvisories(
        {
          tcb: {
            sgxtcbcomponents: level.sgxComponents.map((svn) => ({ svn })),
            pcesvn: level.pceSvn,
            tdxtcbcomponents: spec.tdxComponents.map((svn) => ({ svn })),
          },
          tcbDate: level.tcbDate,
          tcbStatus: level.tcbStatus,
        },
        level.advisoryIds,
      ),
    ),
  });
  return signedCollateralDocument(pki, 'tcbInfo', inner);
}

/** The TD_QE Identity response body for `spec`, issued at `options.now`. */
export function signedTdQeIdentity(pki: SimPki, spec: SimQeIdentitySpec, options: SimIssueOptions): string {
  return signedQeIdentity(pki, spec, options, 'TD_QE');
}
