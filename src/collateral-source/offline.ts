/**
 * Offline collateral: a bundle JSON file, or a directory holding the individual artefacts as
 * Intel PCS/PCCS serve them (file names in docs/collateral.md).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CollateralFormatError, crlDer, parseCollateralBundle, type RawCollateral } from '../core/index.ts';

/**
 * Accepted file names in a collateral directory, per artefact, in order of preference. The first
 * name is the canonical one written by ccnodes tools; the others are common spellings.
 */
export const COLLATERAL_FILES = {
  tcbInfo: ['tcb_info.json', 'tcbinfo.json', 'tcbInfo.json'],
  tcbInfoIssuerChain: ['tcb_info_issuer_chain.pem', 'tcbinfo_issuer_chain.pem', 'tcbInfoIssuerChain.pem'],
  qeIdentity: ['qe_identity.json', 'qeidentity.json', 'qeIdentity.json'],
  qeIdentityIssuerChain: [
    'qe_identity_issuer_chain.pem',
    'qeidentity_issuer_chain.pem',
    'qeIdentityIssuerChain.pem',
  ],
  pckCrl: ['pck_crl.der', 'pck_crl.pem', 'pck_crl.hex', 'pckcrl.der', 'pckcrl'],
  pckCrlIssuerChain: ['pck_crl_issuer_chain.pem', 'pckcrl_issuer_chain.pem', 'pckCrlIssuerChain.pem'],
  rootCaCrl: ['root_ca_crl.der', 'root_ca_crl.pem', 'root_ca_crl.hex', 'rootcacrl.der', 'rootcrl.der'],
} as const satisfies Record<keyof RawCollateral, readonly string[]>;

async function pick(dir: string, present: ReadonlySet<string>, key: keyof RawCollateral): Promise<Buffer> {
  const names = COLLATERAL_FILES[key];
  const name = names.find((n) => present.has(n));
  if (name === undefined) {
    throw new CollateralFormatError(`collateral directory ${dir} has no ${key} file (expected ${names[0]})`, {
      field: key,
      path: dir,
    });
  }
  return readFile(join(dir, name));
}

/** Reads the seven artefacts from a directory (see `COLLATERAL_FILES`). */
export async function loadCollateralDirectory(dir: string): Promise<RawCollateral> {
  const present = new Set(await readdir(dir));
  const text = async (key: keyof RawCollateral): Promise<string> =>
    (await pick(dir, present, key)).toString('utf8');
  const crl = async (key: 'pckCrl' | 'rootCaCrl'): Promise<Uint8Array> =>
    crlDer(new Uint8Array(await pick(dir, present, key)), key);
  return {
    tcbInfo: await text('tcbInfo'),
    tcbInfoIssuerChain: await text('tcbInfoIssuerChain'),
    qeIdentity: await text('qeIdentity'),
    qeIdentityIssuerChain: await text('qeIdentityIssuerChain'),
    pckCrl: await crl('pckCrl'),
    pckCrlIssuerChain: await text('pckCrlIssuerChain'),
    rootCaCrl: await crl('rootCaCrl'),
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
