/**
 * `ccnodes/enclave`: define, measure, sign and launch enclaves on the simulated SGX platform, seal
 * data, make and check REPORTs, and declare typed enclave interfaces (ecalls/ocalls).
 *
 * ```ts
 * import { launchEnclave } from 'ccnodes/enclave';
 * const enclave = await launchEnclave({ definition: 'enclave.yaml', dataDir: '.ccnodes' });
 * await enclave.ecall('init');
 * ```
 *
 * Simulation only (docs/simulation.md): no memory encryption and no protection from the host. The
 * measurements, SIGSTRUCTs, REPORTs and sealed blobs have the real formats. See docs/api.md.
 */
import type { KeyObject } from 'node:crypto';
import { request } from 'node:http';
import type { AttestationClient } from '../attestation-client/index.ts';
import { QUOTE_HELPER_JSON_SOCKET_PATH } from '../contract/index.ts';
import {
  EnclaveRuntimeError,
  generateEnclaveSigningKey,
  loadEnclaveImage,
  loadOrCreatePlatformSecrets,
  platformSecretsFromSeed,
  randomPlatformSecrets,
  signEnclave,
  SimCpu,
  startEnclave,
  startTypedEnclave,
  withEnclaveInterface,
  type EnclaveImage,
  type EnclaveInterface,
  type InterfaceSpec,
  type OcallHandler,
  type OcallHandlers,
  type RunningEnclave,
  type TypedEnclave,
} from '../sim/index.ts';

/** Options of {@link launchEnclave}. */
export interface LaunchEnclaveOptions {
  /** The enclave: a definition file (`.yaml`/`.json`, files relative to it) or a loaded image. */
  readonly definition: string | EnclaveImage;
  /**
   * The SIGSTRUCT signing key (RSA-3072, e = 3; PEM or DER or a KeyObject). Default: a fresh key,
   * so MRSIGNER differs on every launch (data sealed with the MRSIGNER policy will not unseal later).
   */
  readonly signingKey?: KeyObject | string | Uint8Array;
  /**
   * The simulated CPU to run on. Default: a CPU whose platform secrets live in `dataDir` (so sealed
   * data survives restarts), else ones derived from `seed`, else random ones.
   */
  readonly cpu?: SimCpu;
  /** Directory keeping the simulated platform's secrets (created, mode 0700) when `cpu` is not given. */
  readonly dataDir?: string;
  /** Seed of deterministic platform secrets when neither `cpu` nor `dataDir` is given (tests). */
  readonly seed?: string;
  /** Handlers of the OCALLs the definition declares. */
  readonly ocalls?: Readonly<Record<string, OcallHandler>>;
  /** Receives the enclave's `enclave.log(...)` lines. */
  readonly log?: (text: string) => void;
}

/** A simulated CPU for {@link LaunchEnclaveOptions}: from `dataDir`, else `seed`, else random secrets. */
export async function simulatedCpu(options: { dataDir?: string; seed?: string } = {}): Promise<SimCpu> {
  if (options.dataDir !== undefined) return new SimCpu(await loadOrCreatePlatformSecrets(options.dataDir));
  if (options.seed !== undefined) return new SimCpu(platformSecretsFromSeed(options.seed));
  return new SimCpu(randomPlatformSecrets());
}

/**
 * Loads (if given a path), signs, EINITs and starts an enclave: the one-call way to run one. Throws
 * the sim errors of each step (`EnclaveDefinitionError`, `SigstructError`, `EinitError`,
 * `EnclaveRuntimeError`).
 */
export async function launchEnclave(options: LaunchEnclaveOptions): Promise<RunningEnclave> {
  const image =
    typeof options.definition === 'string' ? await loadEnclaveImage(options.definition) : options.definition;
  const key = options.signingKey ?? generateEnclaveSigningKey().privateKeyPem;
  const cpu =
    options.cpu ??
    (await simulatedCpu({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    }));
  const { bytes } = signEnclave(image, key);
  return startEnclave({
    cpu,
    image,
    sigstruct: bytes,
    ...(options.ocalls === undefined ? {} : { ocalls: options.ocalls }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

/** Options of {@link launchTypedEnclave}: those of {@link launchEnclave}, with typed OCALL handlers. */
export interface LaunchTypedEnclaveOptions<S extends InterfaceSpec> extends Omit<
  LaunchEnclaveOptions,
  'ocalls'
> {
  readonly ocalls?: OcallHandlers<S>;
}

/**
 * {@link launchEnclave} for an enclave with a typed interface: the interface's prelude is added to
 * the entry module ({@link withEnclaveInterface}, so enclave code has the `ccnodes` global and the
 * in-enclave checks), the definition must declare exactly the interface's calls, and the result is
 * the typed proxy.
 */
export async function launchTypedEnclave<S extends InterfaceSpec>(
  iface: EnclaveInterface<S>,
  options: LaunchTypedEnclaveOptions<S>,
): Promise<TypedEnclave<S>> {
  const loaded =
    typeof options.definition === 'string' ? await loadEnclaveImage(options.definition) : options.definition;
  const image = withEnclaveInterface(loaded, iface);
  const key = options.signingKey ?? generateEnclaveSigningKey().privateKeyPem;
  const cpu =
    options.cpu ??
    (await simulatedCpu({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    }));
  return startTypedEnclave(iface, {
    cpu,
    image,
    sigstruct: signEnclave(image, key).bytes,
    ...(options.ocalls === undefined ? {} : { ocalls: options.ocalls }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

/** The quote helper's JSON API socket on a node (docs/quote-helper.md). */
export const QUOTE_HELPER_SOCKET = QUOTE_HELPER_JSON_SOCKET_PATH;

/** Largest answer read from the quote helper (a quote is a few KiB). */
const MAX_QUOTE_HELPER_ANSWER = 1024 * 1024;

/** Default deadline of one quote helper exchange (connect, request, whole answer). */
export const QUOTE_HELPER_TIMEOUT_MS = 30_000;

function quoteHelperExchange(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body: Uint8Array | undefined,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(deadline);
      return true;
    };
    const fail = (why: string, cause?: unknown): void => {
      if (!done()) return;
      reject(
        new EnclaveRuntimeError(
          'ERR_ENCLAVE_RUNTIME',
          `quote helper ${method} ${path} on ${socketPath}: ${why}`,
          { socketPath, path },
          cause,
        ),
      );
    };
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: body === undefined ? {} : { 'content-type': 'application/octet-stream' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_QUOTE_HELPER_ANSWER) {
            res.destroy();
            fail(`answer larger than ${MAX_QUOTE_HELPER_ANSWER} bytes`);
          } else chunks.push(c);
        });
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          if (res.statusCode !== 200)
            fail(`HTTP ${String(res.statusCode)}: ${data.toString('utf8', 0, 300)}`);
          else if (done()) resolve(data);
        });
        res.on('error', (e) => {
          fail(e.message, e);
        });
      },
    );
    // One deadline for the whole exchange, which bytes arriving do not push back (the request's
    // own `timeout` is an idle timeout: a helper trickling its answer would hold the enclave's
    // OCALL for as long as it liked).
    const deadline = setTimeout(() => {
      fail(`no complete answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => {
      fail(e.message, e);
    });
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/**
 * Host handlers of {@link QUOTE_OCALLS} through the node's quote helper (its JSON API socket,
 * default {@link QUOTE_HELPER_SOCKET}): what `ccnodes.getQuote()` in enclave code uses on a node.
 * Spread into the OCALL handlers of `startTypedEnclave`. A helper that cannot be reached or refuses
 * rejects the enclave's `getQuote()` with `ERR_ENCLAVE_RUNTIME` naming the socket and status.
 */
export function quoteHelperOcalls(options: { socketPath?: string; timeoutMs?: number } = {}): {
  ccnodes_qe_target_info: () => Promise<Uint8Array>;
  ccnodes_quote: (report: Uint8Array) => Promise<Uint8Array>;
} {
  const socketPath = options.socketPath ?? QUOTE_HELPER_SOCKET;
  const timeoutMs = options.timeoutMs ?? QUOTE_HELPER_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)
    throw new EnclaveRuntimeError(
      'ERR_ENCLAVE_RUNTIME',
      `quoteHelperOcalls: timeoutMs must be an integer in 1..600000, got ${String(timeoutMs)}`,
      { field: 'timeoutMs' },
    );
  return {
    ccnodes_qe_target_info: async () => {
      const answer = await quoteHelperExchange(socketPath, 'GET', '/v1/target-info', undefined, timeoutMs);
      let targetInfo: unknown;
      try {
        targetInfo = (JSON.parse(answer.toString('utf8')) as { targetInfo?: unknown }).targetInfo;
      } catch (cause) {
        throw new EnclaveRuntimeError(
          'ERR_ENCLAVE_RUNTIME',
          'quote helper /v1/target-info: not JSON',
          {},
          cause,
        );
      }
      if (typeof targetInfo !== 'string') {
        throw new EnclaveRuntimeError('ERR_ENCLAVE_RUNTIME', 'quote helper /v1/target-info: no targetInfo');
      }
      return new Uint8Array(Buffer.from(targetInfo, 'base64'));
    },
    ccnodes_quote: async (report) =>
      new Uint8Array(await quoteHelperExchange(socketPath, 'POST', '/v1/quote', report, timeoutMs)),
  };
}

/**
 * The host handler of {@link ATTEST_OCALLS} with an attestation client (`ccnodes/attestation-client`):
 * what `ccnodes.attest(runtimeData)` in enclave code uses. Resolves to the service's token.
 */
export function attestOcalls(
  client: Pick<AttestationClient, 'attestSgxEnclave'>,
  options: { runtimeDataType?: 'JSON' | 'Binary' } = {},
): { ccnodes_attest: (quote: Uint8Array, runtimeData: Uint8Array) => Promise<string> } {
  return {
    ccnodes_attest: (quote, runtimeData) =>
      client.attestSgxEnclave({
        quote,
        runtimeData,
        ...(options.runtimeDataType === undefined ? {} : { runtimeDataType: options.runtimeDataType }),
      }),
  };
}

// Definitions, measurement, signing.
export {
  DEFAULT_SIGNING,
  ENCLAVE_MANIFEST_FORMAT,
  ENCLAVE_RUNTIME_ID,
  enclaveImage,
  generateEnclaveSigningKey,
  layoutEnclave,
  loadEnclaveImage,
  measureEnclave,
  mrSignerFromModulus,
  parseEnclaveDefinition,
  readMeasuredFile,
  signEnclave,
  signSigstruct,
  sigstructPublicKey,
  validateEnclaveDefinition,
  verifySigstruct,
  type EnclaveDefinition,
  type EnclaveFileSpec,
  type EnclaveImage,
  type EnclaveLayout,
  type EnclaveManifest,
  type FilePerms,
  type KssFields,
  type SigningSpec,
  type SigstructFields,
  type VerifiedSigstruct,
} from '../sim/index.ts';

// The simulated CPU and the runtime.
export {
  DEFAULT_SIM_CPUSVN,
  loadOrCreatePlatformSecrets,
  platformSecretsFromSeed,
  randomPlatformSecrets,
  RunningEnclave,
  SimCpu,
  SimEnclave,
  startEnclave,
  type OcallHandler,
  type PlatformSecrets,
  type SimCpuOptions,
  type StartEnclaveOptions,
} from '../sim/index.ts';

// Sealing (SGX SDK sealed-blob layout) and reports.
export {
  decodeSealedBlob,
  sealData,
  unsealData,
  SEALED_HEADER_SIZE,
  type SealedBlob,
  type SealOptions,
} from '../sim/index.ts';
export {
  decodeReport,
  decodeTargetInfo,
  encodeTargetInfo,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
  decodeSigstruct,
  SIGSTRUCT_SIZE,
  type Report,
  type ReportBody,
  type TargetInfo,
  type Sigstruct,
} from '../core/index.ts';

// Simulated DCAP quoting (a platform with a QE, PCK certificates and collateral).
export {
  createSimDcap,
  SimDcap,
  SimPlatform,
  DEFAULT_SIM_PLATFORM,
  SIM_PLATFORM_PRESETS,
  type SimDcapOptions,
  type SimQuoteOptions,
} from '../sim/index.ts';

// Typed enclave interfaces (the EDL role): declare ECALLs/OCALLs once; checked crossings; the
// enclave-side prelude with seal/unseal/getReport/getQuote/attest one-liners.
export {
  ATTEST_OCALLS,
  checkInterfaceMatches,
  defineEnclaveInterface,
  enclavePrelude,
  MAX_WIRE_LIMIT,
  QUOTE_OCALLS,
  simQuoteOcalls,
  startTypedEnclave,
  t,
  typedEnclave,
  typedOcallHandlers,
  withEnclaveInterface,
  type CallSpec,
  type EcallProxy,
  type EnclaveInterface,
  type Infer,
  type InferArgs,
  type InterfaceSpec,
  type OcallHandlers,
  type StartTypedEnclaveOptions,
  type TypedEnclave,
  type WireType,
} from '../sim/index.ts';

// Errors.
export {
  SIM_ENCLAVE_ERRORS,
  SimEnclaveError,
  EnclaveDefinitionError,
  SigstructError,
  EinitError,
  EgetkeyError,
  ReportVerificationError,
  SealError,
  SimCpuError,
  EnclaveRuntimeError,
  EnclaveInterfaceError,
  type SimEnclaveErrorCode,
} from '../sim/index.ts';
export { CcnodesError, isCcnodesError } from '../errors/index.ts';
