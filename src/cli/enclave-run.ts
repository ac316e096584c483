/** Implementation of `enclave.ts`'s commands, loaded only when one of them runs. */
import { createPublicKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  decodeBinaryInput,
  decodeSigstruct,
  decodeSigstructDate,
  FormatError,
  sgxAttributeFlagNames,
  SIGSTRUCT_SIZE,
  type Sigstruct,
} from '../core/index.ts';
import { isCcnodesError, type CcnodesError } from '../errors/index.ts';
import {
  EnclaveDefinitionError,
  generateEnclaveSigningKey,
  loadEnclaveImage,
  measureEnclave,
  mrSignerFromModulus,
  SigstructError,
  signEnclave,
  sigstructModulusOf,
  verifySigstruct,
  type EnclaveImage,
} from '../sim/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { parseEncodingFlag } from './input-encoding.ts';
import { readInputFile } from './io.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

interface JsonFlag {
  json?: boolean;
}

function emitJson(ctx: CliContext, value: unknown): void {
  ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

function table(rows: readonly (readonly [string, string])[]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}

/** Invalid input (definition, SIGSTRUCT bytes): exit 2 with the error code; JSON body with --json. */
function inputFailure(ctx: CliContext, flags: JsonFlag, what: string, err: CcnodesError): void {
  if (flags.json === true) emitJson(ctx, { ok: false, error: err.toJSON() });
  ctx.stderr(`ccnodes: ${what}: ${err.message} (${err.code})\n`);
  ctx.exitCode = EXIT.USAGE;
}

async function loadImage(ctx: CliContext, path: string, flags: JsonFlag): Promise<EnclaveImage | undefined> {
  try {
    return await loadEnclaveImage(resolve(ctx.cwd, path));
  } catch (err) {
    if (!(err instanceof EnclaveDefinitionError)) throw err;
    inputFailure(ctx, flags, path, err);
    return undefined;
  }
}

async function writeOutput(
  ctx: CliContext,
  path: string,
  data: Uint8Array | string,
  mode?: number,
  exclusive = false,
): Promise<void> {
  const target = resolve(ctx.cwd, path);
  try {
    await writeFile(target, data, { ...(mode === undefined ? {} : { mode }), flag: exclusive ? 'wx' : 'w' });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot write ${path}: ${reason}`, { details: { path }, cause });
  }
}

export interface MeasureFlags extends JsonFlag {
  log?: string;
}

export async function measureCommand(ctx: CliContext, path: string, flags: MeasureFlags): Promise<void> {
  const image = await loadImage(ctx, path, flags);
  if (image === undefined) return;
  let result;
  try {
    result = measureEnclave(image, { keepLog: flags.log !== undefined });
  } catch (err) {
    if (!(err instanceof EnclaveDefinitionError)) throw err;
    inputFailure(ctx, flags, path, err);
    return;
  }
  const { mrEnclave, layout, log } = result;
  if (flags.log !== undefined && log !== undefined) await writeOutput(ctx, flags.log, log);
  const measured = layout.pages.filter((p) => p.measured).length;
  const def = image.definition;
  if (flags.json === true) {
    emitJson(ctx, {
      ok: true,
      name: def.name,
      mrEnclave: hex(mrEnclave),
      enclaveSize: `0x${def.enclaveSize.toString(16)}`,
      ssaFrameSize: def.ssaFrameSize,
      usedBytes: Number(layout.usedBytes),
      pages: { total: layout.pages.length, measured, unmeasured: layout.pages.length - measured },
      attributes: { flags: hex64(def.attributes.flags), xfrm: hex64(def.attributes.xfrm) },
      miscSelect: hex32(def.miscSelect),
      isvProdId: def.isvProdId,
      isvSvn: def.isvSvn,
      debug: def.debug,
      manifest: layout.manifest,
      ...(flags.log === undefined ? {} : { log: flags.log }),
    });
    return;
  }
  const rows: [string, string][] = [
    ['enclave', def.name],
    ['MRENCLAVE', hex(mrEnclave)],
    ['size', `0x${def.enclaveSize.toString(16)} (${layout.usedBytes} bytes used)`],
    [
      'pages',
      `${layout.pages.length} (${measured} measured, ${layout.pages.length - measured} added unmeasured)`,
    ],
    [
      'threads',
      `${def.tcsCount} TCS, SSA frame ${def.ssaFrameSize} page(s), ${def.stackPages} stack pages each`,
    ],
    [
      'attributes',
      `flags ${hex64(def.attributes.flags)} [${sgxAttributeFlagNames(def.attributes.flags).join(', ')}], xfrm ${hex64(def.attributes.xfrm)}`,
    ],
    ['ISVPRODID/SVN', `${def.isvProdId} / ${def.isvSvn}`],
    ['debug', def.debug ? 'yes (simulated enclaves default to debug)' : 'no'],
    ['runtime', layout.manifest.runtime],
    ['entry', layout.manifest.entry],
  ];
  for (const f of layout.manifest.files) {
    rows.push(['file', `${f.path}  offset 0x${f.offset.toString(16)}, ${f.size} bytes, ${f.perms}`]);
  }
  if (flags.log !== undefined)
    rows.push(['log', `${flags.log} (SGXS-style record stream; its SHA-256 is MRENCLAVE)`]);
  ctx.stdout(table(rows));
}

export interface SignFlags extends JsonFlag {
  key: string;
  output: string;
}

export async function signCommand(ctx: CliContext, path: string, flags: SignFlags): Promise<void> {
  const image = await loadImage(ctx, path, flags);
  if (image === undefined) return;
  const pem = await readInputFile(resolve(ctx.cwd, flags.key));
  let signed;
  try {
    signed = signEnclave(image, pem);
  } catch (err) {
    if (!(err instanceof SigstructError) && !(err instanceof EnclaveDefinitionError)) throw err;
    inputFailure(ctx, flags, err instanceof SigstructError ? flags.key : path, err);
    return;
  }
  await writeOutput(ctx, flags.output, signed.bytes);
  const s = signed.sigstruct;
  if (flags.json === true) {
    emitJson(ctx, {
      ok: true,
      output: flags.output,
      mrEnclave: hex(signed.mrEnclave),
      mrSigner: hex(signed.mrSigner),
      isvProdId: s.isvProdId,
      isvSvn: s.isvSvn,
      date: decodeSigstructDate(s.date) ?? null,
    });
    return;
  }
  ctx.stdout(
    table([
      ['wrote', `${flags.output} (SIGSTRUCT, ${SIGSTRUCT_SIZE} bytes)`],
      ['MRENCLAVE', hex(signed.mrEnclave)],
      ['MRSIGNER', hex(signed.mrSigner)],
      ['ISVPRODID/SVN', `${s.isvProdId} / ${s.isvSvn}`],
      ['date', decodeSigstructDate(s.date) ?? '(none)'],
    ]),
  );
}

/** The `--json` form of a SIGSTRUCT. */
function sigstructJson(s: Sigstruct): Record<string, unknown> {
  return {
    headerType: hex32(s.headerType),
    vendor: hex32(s.vendor),
    date: hex32(s.date),
    dateText: decodeSigstructDate(s.date) ?? null,
    swDefined: hex32(s.swDefined),
    exponent: s.exponent,
    miscSelect: hex32(s.miscSelect),
    miscMask: hex32(s.miscMask),
    cetAttributes: s.cetAttributes,
    cetAttributesMask: s.cetAttributesMask,
    isvFamilyId: hex(s.isvFamilyId),
    attributes: { flags: hex64(s.attributes.flags), xfrm: hex64(s.attributes.xfrm) },
    attributeFlagNames: sgxAttributeFlagNames(s.attributes.flags),
    attributeMask: { flags: hex64(s.attributeMask.flags), xfrm: hex64(s.attributeMask.xfrm) },
    enclaveHash: hex(s.enclaveHash),
    isvExtProdId: hex(s.isvExtProdId),
    isvProdId: s.isvProdId,
    isvSvn: s.isvSvn,
    modulus: hex(s.modulus),
    signature: hex(s.signature),
    q1: hex(s.q1),
    q2: hex(s.q2),
  };
}

export interface SigstructFlags extends JsonFlag {
  definition?: string;
  encoding?: string;
}

export async function sigstructCommand(ctx: CliContext, file: string, flags: SigstructFlags): Promise<void> {
  const encoding = parseEncodingFlag(flags.encoding);
  const raw = await readInputFile(resolve(ctx.cwd, file));
  let s: Sigstruct;
  let bytes: Uint8Array;
  try {
    // auto: a file of exactly SIGSTRUCT_SIZE bytes is the binary SIGSTRUCT; text valid as both hex
    // and base64 is read the way that gives that size.
    const expect = (b: Uint8Array): boolean => b.length === SIGSTRUCT_SIZE;
    bytes =
      encoding === 'auto' && raw.length === SIGSTRUCT_SIZE
        ? new Uint8Array(raw)
        : decodeBinaryInput(raw, { encoding, expect });
    s = decodeSigstruct(bytes);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    inputFailure(ctx, flags, file, err);
    return;
  }
  const mrSigner = mrSignerFromModulus(s.modulus);
  let signatureError: CcnodesError | undefined;
  try {
    verifySigstruct(bytes);
  } catch (err) {
    if (!isCcnodesError(err)) throw err;
    signatureError = err;
  }
  let measured: string | undefined;
  if (flags.definition !== undefined) {
    const image = await loadImage(ctx, flags.definition, flags);
    if (image === undefined) return;
    measured = hex(measureEnclave(image).mrEnclave);
  }
  const hashMatches = measured === undefined ? undefined : measured === hex(s.enclaveHash);
  const ok = signatureError === undefined && hashMatches !== false;
  if (!ok) ctx.exitCode = EXIT.CHECK_FAILED;
  if (flags.json === true) {
    emitJson(ctx, {
      ok,
      file,
      mrEnclave: hex(s.enclaveHash),
      mrSigner: hex(mrSigner),
      signature:
        signatureError === undefined ? { valid: true } : { valid: false, error: signatureError.toJSON() },
      ...(measured === undefined ? {} : { measuredMrEnclave: measured, enclaveHashMatches: hashMatches }),
      sigstruct: sigstructJson(s),
    });
    return;
  }
  const rows: [string, string][] = [
    ['file', file],
    ['MRENCLAVE', `${hex(s.enclaveHash)} (ENCLAVEHASH)`],
    ['MRSIGNER', hex(mrSigner)],
    [
      'signature',
      signatureError === undefined
        ? 'valid (RSA-3072, e = 3, Q1/Q2 consistent)'
        : `INVALID: ${signatureError.message} (${signatureError.code})`,
    ],
    ['vendor', s.vendor === 0x8086 ? '0x8086 (Intel)' : hex32(s.vendor)],
    ['date', decodeSigstructDate(s.date) ?? (s.date === 0 ? '(none)' : hex32(s.date))],
    ['ISVPRODID/SVN', `${s.isvProdId} / ${s.isvSvn}`],
    [
      'attributes',
      `flags ${hex64(s.attributes.flags)} [${sgxAttributeFlagNames(s.attributes.flags).join(', ')}], xfrm ${hex64(s.attributes.xfrm)}`,
    ],
    ['attribute mask', `flags ${hex64(s.attributeMask.flags)}, xfrm ${hex64(s.attributeMask.xfrm)}`],
    ['MISCSELECT/mask', `${hex32(s.miscSelect)} / ${hex32(s.miscMask)}`],
    [
      'debug',
      (s.attributes.flags & 2n) !== 0n
        ? 'signed as debug'
        : (s.attributeMask.flags & 2n) === 0n
          ? 'not enforced by the mask (debug or production launch)'
          : 'production only',
    ],
    ['SWDEFINED', hex32(s.swDefined)],
    ['ISVFAMILYID', hex(s.isvFamilyId)],
    ['ISVEXTPRODID', hex(s.isvExtProdId)],
  ];
  if (measured !== undefined) {
    rows.push([
      'measured',
      `${measured} (${hashMatches === true ? 'matches ENCLAVEHASH' : 'DIFFERS from ENCLAVEHASH'})`,
    ]);
  }
  ctx.stdout(table(rows));
}

export interface KeygenFlags extends JsonFlag {
  output: string;
  force?: boolean;
}

export async function keygenCommand(ctx: CliContext, flags: KeygenFlags): Promise<void> {
  const key = generateEnclaveSigningKey();
  try {
    await writeOutput(ctx, flags.output, key.privateKeyPem, 0o600, flags.force !== true);
  } catch (err) {
    if (err instanceof IoError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
      throw new UsageError(`${flags.output} exists; pass --force to overwrite it`, { path: flags.output });
    }
    throw err;
  }
  const mrSigner = hex(mrSignerFromModulus(sigstructModulusOf(createPublicKey(key.publicKeyPem))));
  if (flags.json === true) emitJson(ctx, { ok: true, output: flags.output, mrSigner });
  else
    ctx.stdout(
      table([
        ['wrote', `${flags.output} (RSA-3072, e = 3, PKCS#8 PEM, mode 0600)`],
        ['MRSIGNER', mrSigner],
      ]),
    );
}
