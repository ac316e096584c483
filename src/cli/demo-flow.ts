/**
 * The steps of `ccnodes demo`: a confidential workload end to end on one machine, in simulation.
 * Each step returns a small record of what it showed; the command renders them (human or JSON).
 * `tamper` makes one thing wrong so that the flow fails at the step that should catch it.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { AttestationClient } from '../attestation-client/index.ts';
import { RESOURCE_EPC_MIB } from '../contract/index.ts';
import { decodeQuote, toHex } from '../core/index.ts';
import { aesmExchange, aesmSchema } from '../node/quote-helper/index.ts';
import {
  enclaveImage,
  generateEnclaveSigningKey,
  loadEnclaveImage,
  signEnclave,
  startEnclave,
  type EnclaveImage,
  type RunningEnclave,
  validateEnclaveDefinition,
} from '../sim/index.ts';
import { containerStep } from './demo-container.ts';
import type { DemoStack } from './demo-stack.ts';

import { TAMPER_MODES, type TamperMode } from './demo-tamper.ts';

export { TAMPER_MODES, type TamperMode };

export const DEMO_SECRET_NAME = 'demo-secret';
export const DEMO_SECRET_VALUE = 'the launch code is 0000 (simulated)';
const API_VERSION = '2022-08-01';

/** Default location of the sample enclave shipped in the repository. */
export const HELLO_ENCLAVE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
  'hello-enclave',
  'enclave.yaml',
);

/** The facts the steps pass to each other. */
interface FlowState {
  image?: EnclaveImage;
  sigstruct?: Uint8Array;
  mrEnclave?: string;
  mrSigner?: string;
  enclave?: RunningEnclave;
  quote?: Uint8Array;
  runtimeData?: Uint8Array;
  token?: string;
}

export interface DemoStep {
  readonly id: string;
  readonly title: string;
  run(): Promise<Record<string, unknown>>;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

async function http(
  stack: DemoStack,
  method: string,
  path: string,
  body?: unknown,
  admin = false,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (admin) headers['authorization'] = `Bearer ${stack.adminToken}`;
  const res = await fetch(new URL(path, stack.attestationUrl), {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  return { status: res.status, json };
}

/** A failed step: the message says why, `code` is the service's or library's error code. */
export class DemoStepFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function expectOk(
  res: { status: number; json: Record<string, unknown> },
  what: string,
): Record<string, unknown> {
  if (res.status >= 200 && res.status < 300) return res.json;
  const err = res.json['error'] as { code?: string; message?: string } | undefined;
  throw new DemoStepFailure(
    `${what}: HTTP ${res.status}: ${err?.message ?? 'no message'}`,
    err?.code ?? `HTTP_${res.status}`,
  );
}

/** AESM request over the quote helper's socket, as the SGX quote library does with SGX_AESM_ADDR=1. */
async function aesmCall(
  socket: string,
  field: string,
  message: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const schema = aesmSchema();
  const request = schema.Request.encode(schema.Request.fromObject({ [field]: message })).finish();
  const answer = await aesmExchange(socket, request, { timeoutMs: 10_000 });
  if (answer === undefined)
    throw new DemoStepFailure(`aesm ${field}: connection closed without an answer`, 'AESM_CLOSED');
  const decoded = schema.Response.toObject(schema.Response.decode(answer), {
    bytes: Uint8Array,
    longs: Number,
  }) as Record<string, Record<string, unknown> | undefined>;
  const key = field.replace(/Req$/, 'Res');
  const res = decoded[key];
  if (res === undefined) throw new DemoStepFailure(`aesm ${field}: unexpected answer`, 'AESM_ANSWER');
  const errorCode = res['errorCode'];
  if (errorCode !== 0)
    throw new DemoStepFailure(`aesm ${field}: error code ${String(errorCode)}`, `AESM_${String(errorCode)}`);
  return res;
}

/** Issuer CN of the PCK certificate (the first of the quote's PEM chain). */
function pckIssuerOf(chain: readonly string[] | undefined): string {
  const leaf = chain?.[0];
  if (leaf === undefined) return 'no PCK chain in the quote';
  const issuer = new X509Certificate(leaf).issuer;
  return /CN=([^\n]+)/.exec(issuer)?.[1] ?? issuer;
}

/** Builds the step list for one run against a started stack. */
export function demoSteps(
  stack: DemoStack,
  options: { tamper?: TamperMode; enclavePath?: string } = {},
): DemoStep[] {
  const s: FlowState = {};
  const tamper = options.tamper;
  return [
    {
      id: 'services',
      title: 'Start simulated PCS, attestation service, quote helper, device plugin',
      run: () =>
        Promise.resolve({
          pcs: stack.pcs.url,
          attestation: stack.attestationUrl,
          aesmSocket: stack.aesmSocket,
          quoteHelperApi: stack.jsonSocket,
          kubeletSocket: stack.kubelet.socketPath,
          registered: stack.kubelet.registrations.map((r) => r.resource_name),
        }),
    },
    {
      id: 'measure',
      title: 'Measure and sign examples/hello-enclave',
      run: async () => {
        const path = options.enclavePath ?? HELLO_ENCLAVE;
        let image = await loadEnclaveImage(path);
        if (tamper === 'debug') {
          // The same enclave, built as a debug enclave (its memory could be read by a debugger).
          const raw = parseYaml(await readFile(path, 'utf8')) as Record<string, unknown>;
          image = enclaveImage(
            validateEnclaveDefinition({ ...raw, debug: true }),
            Object.fromEntries(image.files),
          );
        }
        const key = generateEnclaveSigningKey();
        const signed = signEnclave(image, key.privateKeyPem);
        s.image = image;
        s.sigstruct = signed.bytes;
        s.mrEnclave = toHex(signed.mrEnclave);
        s.mrSigner = toHex(signed.mrSigner);
        if (tamper === 'enclave-page') {
          // Change one byte of the entry module after signing: the loaded pages no longer match.
          const files = new Map(image.files);
          const entry = files.get(image.definition.entry);
          if (entry !== undefined) {
            const changed = entry.slice();
            changed[0] = (changed[0] ?? 0) ^ 0x20;
            files.set(image.definition.entry, changed);
          }
          s.image = { definition: image.definition, files };
        }
        return { mrenclave: s.mrEnclave, mrsigner: s.mrSigner, debug: image.definition.debug };
      },
    },
    {
      id: 'allocate',
      title: `Allocate EPC (${RESOURCE_EPC_MIB}) through the device plugin, as kubelet does`,
      run: async () => {
        const image = s.image;
        if (image === undefined) throw new DemoStepFailure('no enclave image', 'STATE');
        const mib = Math.max(1, Math.ceil(Number(image.definition.enclaveSize) / (1024 * 1024)));
        const devices = await stack.epcEndpoint.waitForDevices((d) => d.length >= mib, 5000);
        const ids = devices.slice(0, mib).map((d) => d.ID);
        const res = await stack.epcEndpoint.allocate([ids]);
        const c = res.container_responses[0];
        return {
          epcMiB: mib,
          advertisedMiB: devices.length,
          devices:
            (c?.devices ?? []).length > 0
              ? (c?.devices ?? []).map((d) => `${d.host_path} -> ${d.container_path} (${d.permissions})`)
              : [
                  'none: a simulated node has no SGX device nodes; on SGX hardware /dev/sgx_enclave is passed',
                ],
          env: c?.envs ?? {},
          mounts: (c?.mounts ?? []).map((m) => `${m.host_path} -> ${m.container_path}`),
        };
      },
    },
    {
      id: 'launch',
      title: 'Launch the enclave on the simulated platform (EINIT)',
      run: async () => {
        if (s.image === undefined || s.sigstruct === undefined)
          throw new DemoStepFailure('not signed', 'STATE');
        s.enclave = await startEnclave({ cpu: stack.cpu, image: s.image, sigstruct: s.sigstruct });
        const init = (await s.enclave.ecall('init')) as { jwk: Record<string, string> };
        return { launched: true, enclaveKey: `${init.jwk['kty'] ?? '?'} ${init.jwk['crv'] ?? ''}`.trim() };
      },
    },
    {
      id: 'quote',
      title: 'Report for the quoting enclave, quote through the AESM socket',
      run: async () => {
        if (s.enclave === undefined) throw new DemoStepFailure('enclave not running', 'STATE');
        const num = await aesmCall(stack.aesmSocket, 'getSupportedAttKeyIDNumReq', {});
        const count = Number(num['att_key_id_num'] ?? 0);
        const keyIds = await aesmCall(stack.aesmSocket, 'getSupportedAttKeyIDsReq', {
          buf_size: count * 256,
        });
        const attKeyId = (keyIds['att_key_ids'] as Uint8Array).subarray(0, 256);
        const sizeOnly = await aesmCall(stack.aesmSocket, 'initQuoteExReq', {
          att_key_id: attKeyId,
          b_pub_key_id: false,
        });
        const init = await aesmCall(stack.aesmSocket, 'initQuoteExReq', {
          att_key_id: attKeyId,
          b_pub_key_id: true,
          buf_size: sizeOnly['pub_key_id_size'],
        });
        const targetInfo = init['target_info'] as Uint8Array;
        const out = (await s.enclave.ecall('getReport', targetInfo)) as {
          report: Uint8Array;
          runtimeData: Uint8Array;
        };
        s.runtimeData = out.runtimeData;
        const size = await aesmCall(stack.aesmSocket, 'getQuoteSizeExReq', { att_key_id: attKeyId });
        const q = await aesmCall(stack.aesmSocket, 'getQuoteExReq', {
          report: out.report,
          att_key_id: attKeyId,
          buf_size: size['quote_size'],
        });
        s.quote = q['quote'] as Uint8Array;
        const parsed = decodeQuote(s.quote);
        return {
          quoteBytes: s.quote.length,
          version: parsed.header.version,
          reportData: toHex(parsed.body.report.reportData.subarray(0, 32)),
          pckIssuer: pckIssuerOf(parsed.certification.pckChainPem),
        };
      },
    },
    {
      id: 'attest',
      title: 'Attest through the Azure-Attestation-compatible REST API',
      run: async () => {
        if (s.quote === undefined || s.runtimeData === undefined)
          throw new DemoStepFailure('no quote', 'STATE');
        let quote = s.quote;
        let runtimeData = s.runtimeData;
        if (tamper === 'quote') {
          quote = quote.slice();
          quote[120] = (quote[120] ?? 0) ^ 0x01; // inside MRENCLAVE: the quote signature no longer holds
        }
        if (tamper === 'runtime-key') {
          const other = JSON.parse(Buffer.from(runtimeData).toString('utf8')) as { keys: { x: string }[] };
          const k = other.keys[0];
          if (k !== undefined) k.x = b64url(new Uint8Array(32).fill(7));
          runtimeData = new Uint8Array(Buffer.from(JSON.stringify(other)));
        }
        const res = await http(stack, 'POST', `/attest/SgxEnclave?api-version=${API_VERSION}`, {
          quote: b64url(quote),
          runtimeData: { data: b64url(runtimeData), dataType: 'JSON' },
        });
        const token = expectOk(res, 'attest')['token'];
        if (typeof token !== 'string')
          throw new DemoStepFailure('attest: no token in the answer', 'NO_TOKEN');
        s.token = token;
        return { tokenBytes: token.length };
      },
    },
    {
      id: 'verify-token',
      title: 'Verify the token signature against /certs; key claims',
      run: async () => {
        if (s.token === undefined) throw new DemoStepFailure('no token', 'STATE');
        // MAA-style /certs: each key is published as an X.509 certificate (x5c) under its kid; the
        // attestation client checks the signature, issuer and expiry as any relying party would.
        const client = new AttestationClient({ url: stack.attestationUrl, issuer: stack.attestation.issuer });
        let verified;
        try {
          verified = await client.verifyToken(s.token, { mrEnclave: s.mrEnclave ?? '' });
        } finally {
          await client.close();
        }
        const protectedHeader = verified.header;
        const claim = (n: string): unknown => verified.claims[n];
        return {
          alg: protectedHeader.alg,
          kid: protectedHeader.kid,
          'x-ms-sgx-mrenclave': claim('x-ms-sgx-mrenclave'),
          'x-ms-sgx-mrsigner': claim('x-ms-sgx-mrsigner'),
          'x-ms-sgx-is-debuggable': claim('x-ms-sgx-is-debuggable'),
          'x-ccnodes-tcb-status': claim('x-ccnodes-tcb-status'),
          'x-ccnodes-simulated': claim('x-ccnodes-simulated'),
        };
      },
    },
    {
      id: 'release',
      title: 'Release the demo secret, encrypted to the enclave key; open it inside the enclave',
      run: async () => {
        if (s.token === undefined || s.enclave === undefined) throw new DemoStepFailure('no token', 'STATE');
        const mrenclave = tamper === 'release-policy' ? '00'.repeat(32) : s.mrEnclave;
        const releasePolicy = {
          version: '1.0.0',
          anyOf: [
            {
              authority: stack.attestation.issuer,
              allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: mrenclave }],
            },
          ],
        };
        expectOk(
          await http(
            stack,
            'PUT',
            `/ccnodes/v1/secrets/${DEMO_SECRET_NAME}`,
            { value: b64url(DEMO_SECRET_VALUE), contentType: 'text/plain', releasePolicy },
            true,
          ),
          'store secret',
        );
        const released = expectOk(
          await http(stack, 'POST', `/ccnodes/v1/secrets/${DEMO_SECRET_NAME}/release`, { token: s.token }),
          'release',
        );
        const jwe = released['jwe'];
        if (typeof jwe !== 'string') throw new DemoStepFailure('release: no JWE in the answer', 'NO_JWE');
        const opened = (await s.enclave.ecall('openSecret', jwe)) as Uint8Array;
        const text = Buffer.from(opened).toString('utf8');
        if (text !== DEMO_SECRET_VALUE)
          throw new DemoStepFailure('the enclave opened something else', 'SECRET_MISMATCH');
        return {
          jweBytes: jwe.length,
          openedInsideEnclave: true,
          secretSha256Prefix: await sha256Prefix(text),
        };
      },
    },
    containerStep(stack, tamper),
  ];
}

async function sha256Prefix(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Buffer.from(digest).toString('hex').slice(0, 16);
}
