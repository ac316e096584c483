/**
 * Offline collateral: a bundle JSON file, or a directory holding the individual artefacts as
 * Intel PCS/PCCS serve them (file names in docs/collateral.md).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CollateralFormatError,
  certificatesPem,
  crlDer,
  parseCertificate,
  parseCollateralBundle,
  pemCertificates,
  type RawCollateral,
} from '../core/index.ts';

const chainNames = (...bases: string[]): string[] =>
  bases.flatMap((b) => [`${b}.pem`, `${b}.der`, `${b}.crt`]);
const crlNames = (...bases: string[]): string[] =>
  bases.flatMap((b) => [`${b}.der`, `${b}.pem`, `${b}.crl`, `${b}.hex`, b]);

/**
 * Accepted file names in a collateral directory, per artefact, in order of preference (compared
 * without regard to case, `_` and `-`: `tcbInfoIssuerChain.pem` matches `tcb_info_issuer_chain.pem`). The first name is the canonical one written by ccnodes tools; the others
 * are the spellings of PCS/PCCS clients and upstream sample folders (Intel's, go-tdx-guest's).
 * Certificates and CRLs may be PEM or DER whatever the extension (CRLs also hex).
 */
export const COLLATERAL_FILES = {
  tcbInfo: [
    'tcb_info.json',
    'tcb_info',
    'tcb_info_response',
    'tcb_info_response.json',
    'sample_tcb_info_response',
  ],
  tcbInfoIssuerChain: chainNames('tcb_info_issuer_chain', 'tcb_issuer_chain', 'sgx_tcb_info_issuer_chain'),
  qeIdentity: [
    'qe_identity.json',
    'qe_identity',
    'qe_identity_response',
    'qe_identity_response.json',
    'sample_qe_identity_response',
    'enclave_identity.json',
  ],
  qeIdentityIssuerChain: chainNames('qe_identity_issuer_chain', 'enclave_identity_issuer_chain'),
  pckCrl: crlNames('pck_crl'),
  pckCrlIssuerChain: chainNames('pck_crl_issuer_chain'),
  rootCaCrl: crlNames('root_ca_crl', 'root_crl', 'intel_sgx_root_ca_crl'),
} as const satisfies Record<keyof RawCollateral, readonly string[]>;

/**
 * Optional: Intel's root certificate (PEM or DER). When an issuer chain file holds only the signing
 * CA (as some folders keep it, with the root alone in a DER file), the root is appended to it.
 * This adds no trust: the verifier still recognises the root by Intel's public key.
 */
export const COLLATERAL_ROOT_FILES = [
  'root_ca.pem',
  'root_ca.der',
  'root_ca.crt',
  'trusted_root_ca.der',
  'trusted_root_ca.pem',
  'intel_sgx_root_ca.der',
  'intel_sgx_root_ca.pem',
  'intel_sgx_root_ca.crt',
  'root.der',
  'root.pem',
] as const;

/** File-name comparison key: case, `_` and `-` ignored. */
const nameKey = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

type Artefact = keyof RawCollateral;
const ARTEFACTS = Object.keys(COLLATERAL_FILES) as Artefact[];
const CHAINS = ['tcbInfoIssuerChain', 'qeIdentityIssuerChain', 'pckCrlIssuerChain'] as const;

/** What a directory load used and skipped. */
export interface CollateralDirectoryReport {
  readonly collateral: RawCollateral;
  /** The file read for each artefact (and `rootCertificate` when one was found). */
  readonly files: Readonly<Partial<Record<Artefact | 'rootCertificate', string>>>;
  /** One line per file skipped (and why) or adjusted (a root appended to a chain). */
  readonly warnings: readonly string[];
}

/** Bytes → one artefact's value; throws CollateralFormatError naming the file. */
function decodeArtefact(key: Artefact, file: string, bytes: Buffer): string | Uint8Array {
  if (key === 'pckCrl' || key === 'rootCaCrl') return crlDer(new Uint8Array(bytes), file);
  if (key === 'tcbInfo' || key === 'qeIdentity') return bytes.toString('utf8');
  return certificatesPem(new Uint8Array(bytes), file);
}

/**
 * Reads the seven artefacts from a directory (names in `COLLATERAL_FILES`), reporting every missing
 * or unreadable artefact in one `CollateralFormatError` and every skipped file as a warning.
 */
export async function loadCollateralDirectoryWithReport(dir: string): Promise<CollateralDirectoryReport> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const names: string[] = [];
  const warnings: string[] = [];
  for (const e of entries) {
    if (!e.isFile() && !e.isSymbolicLink()) {
      warnings.push(`${e.name}: skipped: not a regular file`);
      continue;
    }
    names.push(e.name);
  }
  /** The directory's files matching `accepted`, in the order of preference of `accepted`. */
  const matching = (accepted: readonly string[]): string[] =>
    accepted.flatMap((a) => names.filter((n) => nameKey(n) === nameKey(a)));
  const used = new Set<string>();
  const files: Partial<Record<Artefact | 'rootCertificate', string>> = {};
  const missing: { artefact: Artefact; accepted: readonly string[] }[] = [];
  const invalid: { artefact: string; file: string; reason: string }[] = [];
  const values: Partial<Record<Artefact, string | Uint8Array>> = {};
  for (const key of ARTEFACTS) {
    const [first, ...others] = [...new Set(matching(COLLATERAL_FILES[key]))];
    if (first === undefined) {
      missing.push({ artefact: key, accepted: COLLATERAL_FILES[key] });
      continue;
    }
    files[key] = first;
    used.add(first);
    for (const other of others) {
      used.add(other);
      warnings.push(`${other}: skipped: ${key} is read from ${first}`);
    }
    try {
      values[key] = decodeArtefact(key, first, await readFile(join(dir, first)));
    } catch (err) {
      if (!(err instanceof CollateralFormatError)) throw err;
      invalid.push({ artefact: key, file: first, reason: err.message });
    }
  }
  // An optional root certificate completes chains that stop below the root.
  const rootName = matching(COLLATERAL_ROOT_FILES)[0];
  if (rootName !== undefined) {
    used.add(rootName);
    files.rootCertificate = rootName;
    let rootPem: string | undefined;
    try {
      rootPem = certificatesPem(new Uint8Array(await readFile(join(dir, rootName))), rootName);
    } catch (err) {
      if (!(err instanceof CollateralFormatError)) throw err;
      warnings.push(`${rootName}: skipped: ${err.message}`);
    }
    let appended = 0;
    for (const key of CHAINS) {
      const chain = values[key];
      if (rootPem === undefined || typeof chain !== 'string') continue;
      if (chainHasSelfIssued(chain)) continue;
      values[key] = `${chain.endsWith('\n') ? chain : `${chain}\n`}${rootPem}`;
      appended += 1;
      warnings.push(`${rootName}: root certificate appended to ${files[key] ?? key} (the chain had no root)`);
    }
    if (rootPem !== undefined && appended === 0)
      warnings.push(`${rootName}: not needed: every issuer chain already ends in a root`);
  }
  for (const name of names) {
    if (!used.has(name))
      warnings.push(`${name}: skipped: not a collateral file name (accepted names: docs/collateral.md)`);
  }
  if (missing.length > 0 || invalid.length > 0) {
    const parts = [
      ...missing.map((m) => `${m.artefact} missing (accepted names: ${m.accepted.join(', ')})`),
      ...invalid.map((i) => `${i.artefact} in ${i.file} unreadable: ${i.reason}`),
    ];
    throw new CollateralFormatError(
      `collateral directory ${dir}: ${parts.length} problem${parts.length === 1 ? '' : 's'}: ${parts.join('; ')}`,
      { path: dir, missing, invalid, warnings },
    );
  }
  return { collateral: values as RawCollateral, files, warnings };
}

/** True when some certificate in the PEM text is self-issued (a root); unparsable text counts as no. */
function chainHasSelfIssued(pem: string): boolean {
  try {
    return pemCertificates(pem).some((der) => parseCertificate(der).selfIssued);
  } catch {
    return false;
  }
}

/** Reads the seven artefacts from a directory (see `COLLATERAL_FILES`). */
export async function loadCollateralDirectory(dir: string): Promise<RawCollateral> {
  return (await loadCollateralDirectoryWithReport(dir)).collateral;
}

/**
 * Like {@link loadCollateralPath}, with what a directory load used and skipped (a bundle file has
 * no warnings and no `files`).
 */
export async function loadCollateralPathWithReport(path: string): Promise<{
  collateral: RawCollateral;
  directory: boolean;
  files: CollateralDirectoryReport['files'];
  warnings: readonly string[];
}> {
  const info = await stat(path);
  if (info.isDirectory()) return { ...(await loadCollateralDirectoryWithReport(path)), directory: true };
  return {
    collateral: parseCollateralBundle(await readFile(path, 'utf8')),
    directory: false,
    files: {},
    warnings: [],
  };
}

/**
 * Loads collateral from `path`: a bundle JSON file (our schema or dcap-qvl's) or a directory of
 * artefacts. Throws `CollateralFormatError` for malformed content and the Node fs error for I/O.
 */
export async function loadCollateralPath(path: string): Promise<RawCollateral> {
  const info = await stat(path);
  if (info.isDirectory()) return loadCollateralDirectory(path);
  return parseCollateralBundle(await readFile(path, 'utf8'));
}
