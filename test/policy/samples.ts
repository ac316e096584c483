/**
 * Sample policies of spec maa.md §3.5 and the realistic SGX claim set of §2.4, shared by the policy
 * tests. The policies are reproduced as the spec gives them (placeholders filled in).
 */
import type { Claim } from '../../src/policy/index.ts';
import { claimsFromObject } from '../../src/policy/index.ts';

export const MRENCLAVE = 'd971961f724b71dfc5f1553ac4efb68ad160e849602cdd851cb840423e592a73';
export const MRSIGNER = '856823123027010ed0ce1f7d515b6be1d7505e5828fba19785676030d8fffc28';
export const OTHER_SIGNER = '0000000000000000000000000000000000000000000000000000000000000001';
export const EHD = 'MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEA';

/** The incoming (AttestationService) claims the service derives for the §2.4 token. */
export function sgxClaims(overrides: Record<string, unknown> = {}): Claim[] {
  return claimsFromObject({
    'x-ms-ver': '1.0',
    'x-ms-attestation-type': 'sgx',
    'x-ms-policy-hash': 'du0WRJgSoNnG0lrt5X6M2xQK25i9i_hKzG3vgk0ag2g',
    'x-ms-sgx-is-debuggable': false,
    'x-ms-sgx-mrenclave': MRENCLAVE,
    'x-ms-sgx-mrsigner': MRSIGNER,
    'x-ms-sgx-product-id': 1,
    'x-ms-sgx-svn': 1,
    'x-ms-sgx-report-data': `3f8b${'ab'.repeat(30)}${'00'.repeat(32)}`,
    'x-ms-sgx-ehd': EHD,
    'x-ms-sgx-collateral': {
      qeidcertshash: 'a64d',
      qeidcrlhash: 'b2f0',
      qeidhash: 'f1c3',
      quotehash: '9e2a',
      tcbinfocertshash: 'a64d',
      tcbinfocrlhash: 'b2f0',
      tcbinfohash: '0e1c',
    },
    ...overrides,
  });
}

/** Legacy default (2020 docs; `$`-prefixed incoming claims). */
export const LEGACY_DEFAULT = `version= 1.0;
authorizationrules { c:[type=="$is-debuggable"] => permit(); };
issuancerules {
  c:[type=="$is-debuggable"] => issue(type="is-debuggable", value=c.value);
  c:[type=="$sgx-mrsigner"]  => issue(type="sgx-mrsigner",  value=c.value);
  c:[type=="$sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
  c:[type=="$product-id"]    => issue(type="product-id",    value=c.value);
  c:[type=="$svn"]           => issue(type="svn",           value=c.value);
  c:[type=="$tee"]           => issue(type="tee",           value=c.value);
};
`;

/** Current MAA default for SgxEnclave (docs, 2023+). */
export const CURRENT_DEFAULT = `version= 1.1;
configurationrules { => issueproperty(type="x-ms-sgx-tcbidentifier", value="azuredefault"); };
authorizationrules { => permit(); };
issuancerules {
  c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
  c:[type=="x-ms-sgx-mrsigner"]      => issue(type="sgx-mrsigner",  value=c.value);
  c:[type=="x-ms-sgx-mrenclave"]     => issue(type="sgx-mrenclave", value=c.value);
  c:[type=="x-ms-sgx-product-id"]    => issue(type="product-id",    value=c.value);
  c:[type=="x-ms-sgx-svn"]           => issue(type="svn",           value=c.value);
  c:[type=="x-ms-attestation-type"]  => issue(type="tee",           value=c.value);
};
`;

/** Intermediate docs: the same with version 1.0 and no configurationrules. */
export const INTERMEDIATE_DEFAULT = CURRENT_DEFAULT.replace('version= 1.1;', 'version= 1.0;').replace(
  /configurationrules \{[^}]*\};\n/,
  '',
);

/** Documented custom policy: no debug enclaves, pinned product, svn and signer. */
export function pinnedSignerPolicy(productId: number, signer: string): string {
  return `version= 1.0;
authorizationrules {
  [ type=="x-ms-sgx-is-debuggable", value==false ]
  && [ type=="x-ms-sgx-product-id", value==${productId} ]
  && [ type=="x-ms-sgx-svn", value>= 0 ]
  && [ type=="x-ms-sgx-mrsigner", value=="${signer}" ]
  => permit();
};
issuancerules { c:[type=="x-ms-sgx-mrsigner"] => issue(type="contoso-signer", value=c.value); };
`;
}

/** MRSIGNER rotation: OR as two permit rules. */
export function rotationPolicy(signer1: string, signer2: string): string {
  return `version= 1.0;
authorizationrules {
  [type=="x-ms-sgx-is-debuggable", value==false] && [type=="x-ms-sgx-mrsigner", value=="${signer1}"] => permit();
  [type=="x-ms-sgx-is-debuggable", value==false] && [type=="x-ms-sgx-mrsigner", value=="${signer2}"] => permit();
};
issuancerules { };
`;
}

/** Permit-everything (the 2022-08-01 Set_Policy example payload). */
export const PERMIT_ALL = 'version=1.0; authorizationrules { => permit(); }; issuancerules {};';

/** Explicit-deny style (spec §3.5, constructed from the documented actions). */
export const EXPLICIT_DENY = `version=1.0;
authorizationrules { [type=="x-ms-sgx-is-debuggable", value==true] => deny(); => permit(); };
issuancerules {};`;

/** Blank template from the authoring guide. */
export const BLANK_TEMPLATE = 'version=1.0; authorizationrules { =>deny(); }; issuancerules { };';
