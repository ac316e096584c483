/**
 * The host of the tutorial's key-value enclave (docs/tutorial-enclave.md).
 *
 *   node --import tsx examples/hello-enclave/kv/host.ts <data-dir> put <key> <value>
 *   node --import tsx examples/hello-enclave/kv/host.ts <data-dir> get <key>
 *   node --import tsx examples/hello-enclave/kv/host.ts <data-dir> keys
 *
 * `<data-dir>` holds the simulated platform's secrets (so the same CPU comes back after a restart)
 * and `kv.sealed`, the store as the enclave sealed it. The host never sees the plaintext store.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSimDcap,
  launchTypedEnclave,
  SIM_PLATFORM_PRESETS,
  simQuoteOcalls,
  simulatedCpu,
  type EnclaveImage,
  type SimDcap,
  type TypedEnclave,
} from 'ccnodes/enclave';
import { KV_INTERFACE } from './interface.ts';

export const KV_DEFINITION = fileURLToPath(new URL('enclave.yaml', import.meta.url));

/**
 * The simulated DCAP infrastructure the tutorial quotes with: one up-to-date platform (its PCK
 * certificates and attestation key) and the collateral a verifier needs. Derived from a fixed seed,
 * so every run of the tutorial gets the same simulated root.
 */
export function tutorialDcap(seed = 'ccnodes-tutorial-kv'): SimDcap {
  const upToDate = SIM_PLATFORM_PRESETS.find((p) => p.config.name === 'up-to-date');
  if (upToDate === undefined) throw new Error('no up-to-date simulated platform preset');
  return createSimDcap({ seed, platforms: [upToDate.config] });
}

/** Options of {@link openKv}. */
export interface OpenKvOptions {
  /** Quotes for `tlsKey` come from this simulated DCAP's up-to-date platform (default: {@link tutorialDcap}). */
  readonly dcap?: SimDcap;
  /** Another build of the enclave (default: enclave.yaml next to this file). */
  readonly definition?: string | EnclaveImage;
}

/** Starts the KV enclave on the platform of `dataDir` and opens the store sealed there (if any). */
export async function openKv(
  dataDir: string,
  options: OpenKvOptions = {},
): Promise<TypedEnclave<typeof KV_INTERFACE.spec>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'kv.sealed');
  // The simulated CPU keeps its secrets in dataDir: the same CPU (and sealing keys) after a restart.
  const cpu = await simulatedCpu({ dataDir });
  let quoteOcalls: ReturnType<typeof simQuoteOcalls> | undefined;
  const kv = await launchTypedEnclave(KV_INTERFACE, {
    definition: options.definition ?? KV_DEFINITION,
    cpu,
    ocalls: {
      // The quoting enclave is set up on first use (only RA-TLS needs it).
      ccnodes_qe_target_info: () => {
        quoteOcalls ??= simQuoteOcalls(cpu, (options.dcap ?? tutorialDcap()).platform('up-to-date'));
        return quoteOcalls.ccnodes_qe_target_info();
      },
      ccnodes_quote: (report) => {
        quoteOcalls ??= simQuoteOcalls(cpu, (options.dcap ?? tutorialDcap()).platform('up-to-date'));
        return quoteOcalls.ccnodes_quote(report);
      },
      persist: async (blob) => {
        // Write then rename: a crash never leaves half a store.
        await writeFile(`${file}.tmp`, blob, { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      },
    },
  });
  try {
    await kv.ecalls.open(existsSync(file) ? new Uint8Array(await readFile(file)) : null);
  } catch (err) {
    await kv.terminate();
    throw err;
  }
  return kv;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [dataDir, verb, key, value] = process.argv.slice(2);
  if (dataDir === undefined || verb === undefined) {
    process.stderr.write('usage: host.ts <data-dir> put <key> <value> | get <key> | keys\n');
    process.exit(2);
  }
  const kv = await openKv(dataDir);
  try {
    if (verb === 'put' && key !== undefined && value !== undefined) {
      await kv.ecalls.put(key, new TextEncoder().encode(value));
    } else if (verb === 'get' && key !== undefined) {
      const v = await kv.ecalls.get(key);
      process.stdout.write(v === null ? '(not set)\n' : `${new TextDecoder().decode(v)}\n`);
    } else if (verb === 'keys') {
      process.stdout.write(`${(await kv.ecalls.keys()).join('\n')}\n`);
    } else {
      process.stderr.write(`unknown command ${verb}\n`);
      process.exitCode = 2;
    }
  } finally {
    await kv.terminate();
  }
}
