/** Implementation of `ccnodes ratls create`, loaded only when it runs. */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fromHex, serializeCollateralBundle, toHex } from '../core/index.ts';
import {
  RATLS_FORMATS,
  createRatlsCertificate,
  createRatlsCsr,
  extensionOid,
  simulatedQuoter,
  type RatlsFormat,
} from '../ratls/index.ts';
import {
  SIM_ROOT_CA_CN,
  SimConfigError,
  SimDcap,
  simPlatformPreset,
  type SimPlatformConfig,
} from '../sim/index.ts';
import type { CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { defaultSimDataDir } from './sim-run.ts';

export interface CreateFlags {
  readonly format: string;
  readonly output: string;
  readonly keyOut: string;
  readonly collateralOut?: string;
  readonly rootOut?: string;
  readonly csr?: boolean;
  readonly platform: string;
  readonly mrenclave?: string;
  readonly mrsigner?: string;
  readonly isvprodid: string;
  readonly isvsvn: string;
  readonly debug?: boolean;
  readonly subject: string;
  readonly now?: string;
  readonly seed?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

function hex32(option: string, value: string | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new UsageError(`${option}: expected 64 hex digits`, { option });
  return fromHex(value);
}

function u16(option: string, value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 0xffff)
    throw new UsageError(`${option}: expected an integer 0..65535`, { option });
  return Number(value);
}

function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime()))
    throw new UsageError(`--now: not an ISO 8601 date-time: ${text}`, { option: '--now' });
  return d;
}

async function write(ctx: CliContext, path: string, data: string, mode = 0o644): Promise<string> {
  const full = isAbsolute(path) ? path : resolve(ctx.cwd, path);
  try {
    await writeFile(full, data, { mode });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot write ${path}: ${reason}`, { details: { path }, cause });
  }
  return full;
}

function openDcap(flags: CreateFlags, ctx: CliContext, preset: SimPlatformConfig): SimDcap {
  let keys: { seed: string } | { dataDir: string };
  if (flags.seed !== undefined) {
    if (flags.seed === '') throw new UsageError('--seed: must not be empty', { option: '--seed' });
    keys = { seed: flags.seed };
  } else {
    const dir = flags.dataDir ?? defaultSimDataDir(ctx.env);
    if (dir === undefined)
      throw new UsageError('no --data-dir or --seed, and neither CCNODES_DATA_DIR nor HOME is set', {
        option: '--data-dir',
      });
    keys = { dataDir: isAbsolute(dir) ? dir : resolve(ctx.cwd, dir) };
  }
  try {
    return SimDcap.create({ ...keys, platforms: [preset] });
  } catch (err) {
    if (err instanceof SimConfigError && err.code === 'ERR_SIM_SEED')
      throw new UsageError(`--seed: ${err.message}`);
    throw err;
  }
}

export async function run(flags: CreateFlags, ctx: CliContext): Promise<void> {
  if (!(RATLS_FORMATS as readonly string[]).includes(flags.format))
    throw new UsageError(`--format: "${flags.format}" is not one of ${RATLS_FORMATS.join(', ')}`, {
      option: '--format',
    });
  const format = flags.format as RatlsFormat;
  const mrEnclave = hex32('--mrenclave', flags.mrenclave);
  const mrSigner = hex32('--mrsigner', flags.mrsigner);
  const isvProdId = u16('--isvprodid', flags.isvprodid);
  const isvSvn = u16('--isvsvn', flags.isvsvn);
  const now = parseNow(flags.now);
  let preset: SimPlatformConfig;
  try {
    preset = simPlatformPreset(flags.platform).config;
  } catch (err) {
    if (err instanceof SimConfigError)
      throw new UsageError(`--platform: ${err.message}`, { option: '--platform' });
    throw err;
  }
  const dcap = openDcap(flags, ctx, preset);
  const platform = dcap.platform(preset.name);
  const quoter = simulatedQuoter(platform, {
    ...(mrEnclave === undefined ? {} : { mrEnclave }),
    ...(mrSigner === undefined ? {} : { mrSigner }),
    isvProdId,
    isvSvn,
    debug: flags.debug === true,
  });
  const created =
    flags.csr === true
      ? await createRatlsCsr({ format, quoter, subject: flags.subject })
      : await createRatlsCertificate({
          format,
          quoter,
          subject: flags.subject,
          notBefore: new Date(now.getTime() - 3_600_000),
          notAfter: new Date(now.getTime() + 365 * 86_400_000),
        });
  const certPath = await write(ctx, flags.output, created.pem);
  const keyPath = await write(ctx, flags.keyOut, created.keyPem, 0o600);
  const collateralPath =
    flags.collateralOut === undefined
      ? undefined
      : await write(
          ctx,
          flags.collateralOut,
          `${serializeCollateralBundle(dcap.collateral(platform, { now }))}\n`,
        );
  const rootPath = flags.rootOut === undefined ? undefined : await write(ctx, flags.rootOut, dcap.rootPem);
  const body = platform.syntheticReportBody({
    reportData: created.reportData,
    ...(mrEnclave === undefined ? {} : { mrEnclave }),
    ...(mrSigner === undefined ? {} : { mrSigner }),
  });
  const summary = {
    simulated: true,
    format,
    kind: flags.csr === true ? 'csr' : 'certificate',
    oid: extensionOid(format),
    certificate: certPath,
    key: keyPath,
    ...(collateralPath === undefined ? {} : { collateral: collateralPath }),
    ...(rootPath === undefined ? {} : { root: rootPath }),
    platform: preset.name,
    quoteBytes: created.quote.length,
    identity: {
      tee: 'SGX',
      mrEnclave: toHex(body.mrEnclave),
      mrSigner: toHex(body.mrSigner),
      isvProdId,
      isvSvn,
      debug: flags.debug === true,
    },
    reportData: toHex(created.reportData),
    simulatedRoot: {
      subject: SIM_ROOT_CA_CN,
      sha256: createHash('sha256').update(dcap.pki.root.der).digest('hex'),
    },
  };
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  ctx.stdout(
    [
      `SIMULATED RA-TLS ${summary.kind} (NOT FOR PRODUCTION), format ${format} (extension ${summary.oid})`,
      `  certificate: ${certPath}`,
      `  key:         ${keyPath}`,
      ...(collateralPath === undefined ? [] : [`  collateral:  ${collateralPath}`]),
      ...(rootPath === undefined ? [] : [`  root:        ${rootPath}`]),
      `  mrenclave:   ${summary.identity.mrEnclave}`,
      `  mrsigner:    ${summary.identity.mrSigner}`,
      `  isvprodid:   ${isvProdId}  isvsvn: ${isvSvn}${flags.debug === true ? '  DEBUG' : ''}`,
      `verify with: ccnodes ratls verify ${flags.output} --mrenclave ${summary.identity.mrEnclave} ` +
        `--collateral <bundle> --trust-simulated-root <root.pem>`,
      '',
    ].join('\n'),
  );
}
