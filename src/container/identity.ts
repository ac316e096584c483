/**
 * The enclave identity of a confidential container, and app.sig.
 *
 * The identity is an ordinary simulated enclave image (src/sim) whose measured files are:
 *
 * | file in the enclave   | perms | content                                                        |
 * |-----------------------|-------|----------------------------------------------------------------|
 * | `launcher.js`         | rx    | {@link LAUNCHER_ENCLAVE_SOURCE}: the launcher's in-enclave runtime (key pair, REPORT, JWE opening, sealing) |
 * | `app-manifest.json`   | r     | {@link canonicalManifest} of the app manifest                  |
 * | `trusted-files.json`  | r     | JSON `[{path, sha256, size}]` sorted by path                   |
 *
 * measured with the ECREATE/EADD/EEXTEND algorithm like any enclave (the sim's layout also writes
 * the sim runtime's id into its measured manifest page). The definition's other fields are fixed
 * (see {@link identityDefinition}): production mode (no DEBUG), MODE64BIT, XFRM 0x3, one thread,
 * ISVPRODID/ISVSVN from the manifest, SECS.SIZE the next power of two ≥ `epcMiB` MiB, no SIGSTRUCT
 * date. The same manifest and files therefore give the same MRENCLAVE on every machine.
 */
import { createHash } from 'node:crypto';
import { SIGSTRUCT_SIZE } from '../core/index.ts';
import {
  enclaveImage,
  measureEnclave,
  signEnclave,
  validateEnclaveDefinition,
  verifySigstruct,
  type EnclaveImage,
} from '../sim/index.ts';
import { ContainerSigError } from './errors.ts';
import { readSmallTextFile } from './small-file.ts';
import {
  canonicalManifest,
  manifestFileRecord,
  validateManifest,
  type AppManifest,
  type LoadedManifest,
  type ManifestFileRecord,
} from './manifest.ts';
import { expandTrustedFiles, hashTrustedFiles, type TrustedFileHash } from './trusted-files.ts';

/**
 * The launcher's in-enclave runtime: the entry module of every container identity. It makes the
 * ephemeral key pair inside the enclave, binds it into REPORTDATA the way MAA expects
 * (`runtimeData = {"keys":[jwk]}`, REPORTDATA = SHA-256(runtimeData) ‖ 0³²), opens JWEs released to
 * it, and seals/unseals the sealed state. Changing this text changes every app's MRENCLAVE.
 */
export const LAUNCHER_ENCLAVE_SOURCE = `/* global enclave */
// ccnodes confidential-container launcher runtime, version 1 (measured into every app identity).
'use strict';
let key = null;
function ensureKey() {
  if (key === null) key = enclave.generateKeyPair();
  return key;
}
function runtimeData() {
  const jwk = ensureKey().jwk;
  return enclave.utf8Encode(JSON.stringify({ keys: [{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, use: 'enc' }] }));
}
enclave.ecall('init', function () {
  return { jwk: ensureKey().jwk };
});
enclave.ecall('getReport', async function (targetInfo) {
  const data = runtimeData();
  const reportData = new Uint8Array(64);
  reportData.set(enclave.sha256(data));
  return { report: await enclave.ereport(targetInfo, reportData), runtimeData: data };
});
enclave.ecall('openSecret', function (jwe) {
  return enclave.decryptJwe(ensureKey().keyId, jwe);
});
enclave.ecall('seal', function (plaintext, policy) {
  return enclave.seal(plaintext, { policy: policy });
});
enclave.ecall('unseal', async function (blob) {
  return (await enclave.unseal(blob)).plaintext;
});
`;

/** Names of the measured files of the identity. */
export const IDENTITY_FILES = {
  runtime: 'launcher.js',
  manifest: 'app-manifest.json',
  trustedFiles: 'trusted-files.json',
} as const;

/** ECALLs of the launcher runtime. */
export const LAUNCHER_ECALLS = ['init', 'getReport', 'openSecret', 'seal', 'unseal'] as const;

/** SHA-256 (hex, first 16 bytes) of {@link LAUNCHER_ENCLAVE_SOURCE}: the launcher runtime's id. */
export const LAUNCHER_RUNTIME_ID = `ccnodes-container-launcher/1+${createHash('sha256').update(LAUNCHER_ENCLAVE_SOURCE).digest('hex').slice(0, 32)}`;

/** Format tag of app.sig. */
export const SIG_FORMAT = 'ccnodes-container-sig/1';

function nextPow2MiB(mib: number): string {
  let n = 1;
  while (n < mib) n *= 2;
  return `${n}M`;
}

/** Heap pages of every app identity (fixed: the launcher runtime's needs, not the program's). */
export const IDENTITY_HEAP_PAGES = 64;

/** The fixed enclave definition of an app identity. */
export function identityDefinition(m: AppManifest): ReturnType<typeof validateEnclaveDefinition> {
  return validateEnclaveDefinition({
    name: `cc-${m.name}`,
    enclaveSize: nextPow2MiB(m.epcMiB),
    ssaFrameSize: 1,
    tcsCount: 1,
    stackPages: 4,
    heapPages: IDENTITY_HEAP_PAGES,
    debug: false,
    attributes: { flags: ['MODE64BIT'], xfrm: '0x3' },
    miscSelect: 0,
    isvProdId: m.isvProdId,
    isvSvn: m.isvSvn,
    entry: IDENTITY_FILES.runtime,
    files: [
      { path: IDENTITY_FILES.runtime, perms: 'rx' },
      { path: IDENTITY_FILES.manifest, perms: 'r' },
      { path: IDENTITY_FILES.trustedFiles, perms: 'r' },
    ],
    ecalls: [...LAUNCHER_ECALLS],
    ocalls: [],
  });
}

/** JSON text of the trusted-file list as measured. */
export function trustedFilesJson(files: readonly TrustedFileHash[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return JSON.stringify(sorted.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })));
}

/** The enclave image of an app identity: definition + the three measured files. */
export function identityImage(m: AppManifest, files: readonly TrustedFileHash[]): EnclaveImage {
  return enclaveImage(identityDefinition(m), {
    [IDENTITY_FILES.runtime]: LAUNCHER_ENCLAVE_SOURCE,
    [IDENTITY_FILES.manifest]: canonicalManifest(m),
    [IDENTITY_FILES.trustedFiles]: trustedFilesJson(files),
  });
}

/** MRENCLAVE (hex) of an app identity. */
export function measureIdentity(m: AppManifest, files: readonly TrustedFileHash[]): string {
  return Buffer.from(measureEnclave(identityImage(m, files)).mrEnclave).toString('hex');
}

/** The content of app.sig. */
export interface AppSig {
  readonly format: typeof SIG_FORMAT;
  readonly name: string;
  readonly mrenclave: string;
  readonly mrsigner: string;
  readonly isvProdId: number;
  readonly isvSvn: number;
  /** SHA-256 (hex) of the canonical manifest. */
  readonly manifestSha256: string;
  readonly runtime: string;
  readonly trustedFiles: readonly TrustedFileHash[];
  /** The 1808-byte SIGSTRUCT. */
  readonly sigstruct: Uint8Array;
  /**
   * The manifest file as `prepare` read it (the SHA-256 of its bytes and its parsed content), which
   * `container run` uses instead of parsing the file again while its bytes are the same. Neither
   * measured nor signed, and not needed: whatever manifest results is measured against the
   * SIGSTRUCT (see docs/confidential-containers.md, "app.sig").
   */
  readonly manifestFile?: ManifestFileRecord;
}

/** A release policy (the attestation service's Key Vault shape) pinning this identity. */
export function releasePolicyFor(
  sig: Pick<AppSig, 'mrenclave'>,
  authority?: string,
): Record<string, unknown> {
  return {
    version: '1.0.0',
    anyOf: [
      {
        ...(authority === undefined ? {} : { authority }),
        allOf: [
          { claim: 'x-ms-sgx-mrenclave', equals: sig.mrenclave },
          { claim: 'x-ms-sgx-is-debuggable', equals: false },
        ],
      },
    ],
  };
}

/** What `prepare` computes. */
export interface Prepared {
  readonly sig: AppSig;
  readonly image: EnclaveImage;
}

/**
 * Hashes the trusted files, builds the identity and signs its SIGSTRUCT with `signingKey`
 * (RSA-3072, e = 3; PEM).
 * @throws ContainerTrustedFileError, ContainerSigError `ERR_CONTAINER_SIGNING_KEY`.
 */
export async function prepareApp(loaded: LoadedManifest, signingKey: string | Uint8Array): Promise<Prepared> {
  const m = loaded.manifest;
  const paths = await expandTrustedFiles(loaded.baseDir, m.trustedFiles, true);
  const files = await hashTrustedFiles(loaded.baseDir, paths);
  const image = identityImage(m, files);
  let signed;
  try {
    signed = signEnclave(image, signingKey);
  } catch (cause) {
    throw new ContainerSigError('ERR_CONTAINER_SIGNING_KEY', `signing key: ${(cause as Error).message}`, {
      details: { reason: (cause as { code?: string }).code },
      cause,
    });
  }
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const record = manifestFileRecord(loaded);
  return {
    image,
    sig: {
      format: SIG_FORMAT,
      name: m.name,
      mrenclave: hex(signed.mrEnclave),
      mrsigner: hex(signed.mrSigner),
      isvProdId: m.isvProdId,
      isvSvn: m.isvSvn,
      manifestSha256: createHash('sha256').update(canonicalManifest(m)).digest('hex'),
      runtime: LAUNCHER_RUNTIME_ID,
      trustedFiles: files,
      sigstruct: signed.bytes,
      ...(record === undefined ? {} : { manifestFile: record }),
    },
  };
}

/** app.sig as JSON text. */
export function encodeAppSig(sig: AppSig): string {
  return `${JSON.stringify(
    {
      format: sig.format,
      name: sig.name,
      mrenclave: sig.mrenclave,
      mrsigner: sig.mrsigner,
      isvProdId: sig.isvProdId,
      isvSvn: sig.isvSvn,
      manifestSha256: sig.manifestSha256,
      runtime: sig.runtime,
      trustedFiles: sig.trustedFiles,
      sigstruct: Buffer.from(sig.sigstruct).toString('base64'),
      ...(sig.manifestFile === undefined
        ? {}
        : { manifestFile: { sha256: sig.manifestFile.sha256, document: sig.manifestFile.document } }),
    },
    null,
    2,
  )}\n`;
}

function sigFail(field: string, message: string): ContainerSigError {
  return new ContainerSigError('ERR_CONTAINER_SIG', `app.sig ${field}: ${message}`, { details: { field } });
}

/**
 * Parses app.sig and checks it: every field's shape, the SIGSTRUCT's RSA signature, and that the
 * recorded MRENCLAVE, MRSIGNER, ISVPRODID and ISVSVN are the SIGSTRUCT's.
 * @throws ContainerSigError `ERR_CONTAINER_SIG` naming the field.
 */
export function decodeAppSig(text: string): AppSig {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (cause) {
    throw new ContainerSigError('ERR_CONTAINER_SIG', `app.sig is not JSON: ${(cause as Error).message}`, {
      details: { field: '(root)' },
      cause,
    });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw sigFail('(root)', 'must be an object');
  const r = o as Record<string, unknown>;
  const allowed = [
    'format',
    'name',
    'mrenclave',
    'mrsigner',
    'isvProdId',
    'isvSvn',
    'manifestSha256',
    'runtime',
    'trustedFiles',
    'sigstruct',
    'manifestFile',
  ];
  for (const k of Object.keys(r)) if (!allowed.includes(k)) throw sigFail(k, 'unknown field');
  if (r['format'] !== SIG_FORMAT) throw sigFail('format', `must be ${SIG_FORMAT}`);
  const hex32 = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v))
      throw sigFail(k, 'must be 64 lower-case hex digits');
    return v;
  };
  const u16 = (k: string): number => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff)
      throw sigFail(k, 'must be an integer in 0..65535');
    return v;
  };
  const name = r['name'];
  if (typeof name !== 'string' || name.length === 0 || name.length > 48)
    throw sigFail('name', 'must be the app name');
  const runtime = r['runtime'];
  if (typeof runtime !== 'string') throw sigFail('runtime', 'must be a string');
  const files = r['trustedFiles'];
  if (!Array.isArray(files)) throw sigFail('trustedFiles', 'must be a list');
  const trustedFiles = files.map((f: unknown, i) => {
    const e = f as Record<string, unknown> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e['path'] !== 'string' ||
      typeof e['sha256'] !== 'string' ||
      !/^[0-9a-f]{64}$/.test(e['sha256']) ||
      typeof e['size'] !== 'number' ||
      !Number.isSafeInteger(e['size']) ||
      e['size'] < 0
    )
      throw sigFail(`trustedFiles[${i}]`, 'must be { path, sha256, size }');
    return { path: e['path'], sha256: e['sha256'], size: e['size'] };
  });
  const ssB64 = r['sigstruct'];
  const sigstruct =
    typeof ssB64 === 'string' ? new Uint8Array(Buffer.from(ssB64, 'base64')) : new Uint8Array(0);
  if (sigstruct.length !== SIGSTRUCT_SIZE)
    throw sigFail('sigstruct', `must be ${SIGSTRUCT_SIZE} bytes, base64`);
  const sig: AppSig = {
    format: SIG_FORMAT,
    name,
    mrenclave: hex32('mrenclave'),
    mrsigner: hex32('mrsigner'),
    isvProdId: u16('isvProdId'),
    isvSvn: u16('isvSvn'),
    manifestSha256: hex32('manifestSha256'),
    runtime,
    trustedFiles,
    sigstruct,
    ...(r['manifestFile'] === undefined ? {} : { manifestFile: decodeManifestFile(r['manifestFile']) }),
  };
  let verified;
  try {
    verified = verifySigstruct(sigstruct);
  } catch (cause) {
    throw new ContainerSigError('ERR_CONTAINER_SIG', `app.sig sigstruct: ${(cause as Error).message}`, {
      details: { field: 'sigstruct' },
      cause,
    });
  }
  const ss = verified.sigstruct;
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  if (hex(ss.enclaveHash) !== sig.mrenclave)
    throw sigFail('mrenclave', 'differs from the SIGSTRUCT ENCLAVEHASH');
  if (hex(verified.mrSigner) !== sig.mrsigner) throw sigFail('mrsigner', 'differs from the SIGSTRUCT signer');
  if (ss.isvProdId !== sig.isvProdId) throw sigFail('isvProdId', 'differs from the SIGSTRUCT');
  if (ss.isvSvn !== sig.isvSvn) throw sigFail('isvSvn', 'differs from the SIGSTRUCT');
  return sig;
}

/**
 * app.sig's `manifestFile`: `{ sha256, document }`, the document a valid manifest.
 * @throws ContainerSigError `ERR_CONTAINER_SIG` naming the field.
 */
function decodeManifestFile(v: unknown): ManifestFileRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw sigFail('manifestFile', 'must be { sha256, document }');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'sha256' && k !== 'document') throw sigFail(`manifestFile.${k}`, 'unknown field');
  const sha256 = o['sha256'];
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
    throw sigFail('manifestFile.sha256', 'must be 64 lower-case hex digits');
  try {
    validateManifest(o['document']);
  } catch (cause) {
    throw new ContainerSigError(
      'ERR_CONTAINER_SIG',
      `app.sig manifestFile.document: not a valid manifest: ${(cause as Error).message}`,
      { details: { field: 'manifestFile.document' }, cause },
    );
  }
  return { sha256, document: o['document'] };
}

/** Largest app.sig read (its list of trusted files is most of it). */
export const MAX_APP_SIG_BYTES = 64 * 1024 * 1024;

/** Reads (a regular file of at most {@link MAX_APP_SIG_BYTES}) and checks app.sig. */
export function readAppSig(path: string): Promise<AppSig> {
  // Read and checked on the spot (a rejection, not a throw, on failure): see small-file.ts.
  return new Promise((resolveSig) => {
    resolveSig(readAppSigNow(path));
  });
}

function readAppSigNow(path: string): AppSig {
  let text: string;
  try {
    text = readSmallTextFile(path, MAX_APP_SIG_BYTES);
  } catch (cause) {
    throw new ContainerSigError('ERR_CONTAINER_SIG', `cannot read ${path}: ${(cause as Error).message}`, {
      details: { field: '(file)', path },
      cause,
    });
  }
  return decodeAppSig(text);
}
