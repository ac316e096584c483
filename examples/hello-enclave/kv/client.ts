/**
 * A client of the tutorial's key-value service that talks to that enclave and nothing else
 * (docs/tutorial-enclave.md, §7): before any request leaves, the server's RA-TLS certificate must
 * carry a valid quote (simulated root trusted explicitly) binding the TLS key, from an enclave whose
 * MRENCLAVE is the one this client computed by measuring the enclave itself.
 *
 *   node --import tsx examples/hello-enclave/kv/client.ts measure
 *   node --import tsx examples/hello-enclave/kv/client.ts <url> --mrenclave <hex> \
 *     --collateral <data-dir>/collateral.json --root <data-dir>/sim-root.pem  get <key> | put <key> <value>
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetch } from 'undici';
import { loadEnclaveImage, measureEnclave, withEnclaveInterface, type EnclaveImage } from 'ccnodes/enclave';
import { createRatlsVerifier, ratlsUndiciAgent, type RatlsVerification } from 'ccnodes/ratls';
import { loadCollateral, type RawCollateral } from 'ccnodes/verify';
import { KV_INTERFACE } from './interface.ts';
import { KV_DEFINITION } from './host.ts';

/**
 * The MRENCLAVE the client expects, computed from the enclave's source as `ccnodes enclave measure`
 * does, with the typed interface's prelude added (it is part of the measured entry module).
 */
export async function expectedMrEnclave(definition: string | EnclaveImage = KV_DEFINITION): Promise<string> {
  const image = typeof definition === 'string' ? await loadEnclaveImage(definition) : definition;
  return Buffer.from(measureEnclave(withEnclaveInterface(image, KV_INTERFACE)).mrEnclave).toString('hex');
}

/** Options of {@link kvClient}. */
export interface KvClientOptions {
  /** `https://host:port` of the service. */
  readonly url: string;
  /** The only enclave this client talks to. */
  readonly mrEnclave: string;
  /** Collateral to verify the server's quote with (simulated here; a PCCS in production). */
  readonly collateral: RawCollateral;
  /** The simulated root CA, trusted explicitly (never in production). */
  readonly simulatedRootPem: string;
  /** Told about each server that verified (the attested identity). */
  readonly onVerified?: (result: RatlsVerification) => void;
}

/** A pinned client: every connection is attested before a request goes out. */
export interface KvClient {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export function kvClient(options: KvClientOptions): KvClient {
  const verifier = createRatlsVerifier({
    collateral: options.collateral,
    trustSimulatedRoot: options.simulatedRootPem,
    expected: { mrEnclave: options.mrEnclave },
  });
  const attested = options.onVerified;
  const dispatcher = ratlsUndiciAgent(
    attested === undefined
      ? verifier
      : {
          ...verifier,
          verify: async (input) => {
            const result = await verifier.verify(input);
            attested(result);
            return result;
          },
        },
  );
  const at = (key: string): string => `${options.url}/kv/${encodeURIComponent(key)}`;
  return {
    async get(key) {
      const res = await fetch(at(key), { dispatcher });
      if (res.status === 404) {
        await res.arrayBuffer();
        return null;
      }
      if (res.status !== 200) throw new Error(`GET ${key}: HTTP ${res.status} ${await res.text()}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    async put(key, value) {
      const res = await fetch(at(key), { method: 'PUT', body: value, dispatcher });
      if (res.status !== 204) throw new Error(`PUT ${key}: HTTP ${res.status} ${await res.text()}`);
    },
    close: () => dispatcher.close(),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      mrenclave: { type: 'string' },
      collateral: { type: 'string' },
      root: { type: 'string' },
    },
  });
  const usage = (): never => {
    process.stderr.write(
      'usage: client.ts measure\n' +
        '       client.ts <url> --mrenclave <hex> --collateral <file> --root <pem> get <key> | put <key> <value>\n',
    );
    process.exit(2);
  };
  if (positionals[0] === 'measure') {
    process.stdout.write(`${await expectedMrEnclave()}\n`);
  } else {
    const [url, verb, key, value] = positionals;
    if (url === undefined || key === undefined || values.mrenclave === undefined) usage();
    if (values.collateral === undefined || values.root === undefined) usage();
    const client = kvClient({
      url: String(url),
      mrEnclave: String(values.mrenclave),
      collateral: await loadCollateral(String(values.collateral)),
      simulatedRootPem: await readFile(String(values.root), 'utf8'),
    });
    try {
      if (verb === 'get') {
        const v = await client.get(String(key));
        process.stdout.write(v === null ? '(not set)\n' : `${new TextDecoder().decode(v)}\n`);
      } else if (verb === 'put' && value !== undefined) {
        await client.put(String(key), new TextEncoder().encode(value));
      } else {
        usage();
      }
    } catch (err) {
      // Refused servers end here: fetch's error carries the RA-TLS error as its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      process.stderr.write(
        `refused: ${cause?.code ?? ''} ${cause?.message ?? (err instanceof Error ? err.message : String(err))}\n`,
      );
      process.exitCode = 1;
    } finally {
      await client.close();
    }
  }
}
