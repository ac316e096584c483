/**
 * The default policies ccnodes installs when an administrator has set none (spec maa.md §3.5).
 *
 * The SGX default follows Microsoft's current `SgxEnclave` default (version 1.1, TCB identifier
 * `azuredefault`, permit, re-issue the legacy claim names) and adds one rule of our own: in
 * production mode, evidence that chained to the ccnodes simulated root (incoming claim
 * `x-ccnodes-simulated`) is denied (DESIGN.md §4). Simulation mode permits it; the service still
 * marks such tokens with `x-ccnodes-simulated: true`.
 */

/** The claim the attestation service adds (issuer AttestationService) for simulated evidence. */
export const SIMULATED_CLAIM = 'x-ccnodes-simulated';

/** Production or simulation; decides whether simulated evidence is acceptable by default. */
export type PolicyMode = 'production' | 'simulation';

/** The attestation types that have a default policy. */
export type DefaultPolicyType = 'SgxEnclave' | 'OpenEnclave' | 'TdxVm';

const ISSUANCE = `issuancerules {
  c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
  c:[type=="x-ms-sgx-mrsigner"]      => issue(type="sgx-mrsigner",  value=c.value);
  c:[type=="x-ms-sgx-mrenclave"]     => issue(type="sgx-mrenclave", value=c.value);
  c:[type=="x-ms-sgx-product-id"]    => issue(type="product-id",    value=c.value);
  c:[type=="x-ms-sgx-svn"]           => issue(type="svn",           value=c.value);
  c:[type=="x-ms-attestation-type"]  => issue(type="tee",           value=c.value);
};
`;

const CONFIGURATION = `configurationrules {
  => issueproperty(type="x-ms-sgx-tcbidentifier", value="azuredefault");
};
`;

/**
 * Default SGX policy in production mode: Microsoft's default plus a deny for simulated evidence.
 * The deny matches any value other than `false`, so a mistyped "true" string fails closed.
 */
export const DEFAULT_SGX_POLICY = `version= 1.1;
${CONFIGURATION}authorizationrules {
  [type=="${SIMULATED_CLAIM}", value!=false] => deny();
  => permit();
};
${ISSUANCE}`;

/** Default SGX policy in simulation mode: Microsoft's default, which permits everything verified. */
export const DEFAULT_SGX_POLICY_SIMULATION = `version= 1.1;
${CONFIGURATION}authorizationrules {
  => permit();
};
${ISSUANCE}`;

/**
 * Default TdxVm policy in production mode: permit every verified TD (the verifier has already
 * refused debug TDs and unaccepted TCB statuses), deny simulated evidence. It issues no claims of
 * its own: a TDX token carries the service's `tdx_*` claims as they are.
 */
export const DEFAULT_TDX_POLICY = `version= 1.0;
authorizationrules {
  [type=="${SIMULATED_CLAIM}", value!=false] => deny();
  => permit();
};
issuancerules {
};
`;

/** Default TdxVm policy in simulation mode: permits everything verified. */
export const DEFAULT_TDX_POLICY_SIMULATION = `version= 1.0;
authorizationrules {
  => permit();
};
issuancerules {
};
`;

const DEFAULTS: Readonly<Record<DefaultPolicyType, Readonly<Record<PolicyMode, string>>>> = {
  SgxEnclave: { production: DEFAULT_SGX_POLICY, simulation: DEFAULT_SGX_POLICY_SIMULATION },
  // OpenEnclave evidence is an SGX quote behind a small header, so it shares the SGX default (as in MAA).
  OpenEnclave: { production: DEFAULT_SGX_POLICY, simulation: DEFAULT_SGX_POLICY_SIMULATION },
  TdxVm: { production: DEFAULT_TDX_POLICY, simulation: DEFAULT_TDX_POLICY_SIMULATION },
};

/** The default policy text for an attestation type and mode. */
export function defaultPolicyFor(
  type: DefaultPolicyType = 'SgxEnclave',
  mode: PolicyMode = 'production',
): string {
  return DEFAULTS[type][mode];
}
