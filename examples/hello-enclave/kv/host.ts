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
import { launchTypedEnclave, type TypedEnclave } from 'ccnodes/enclave';
import { KV_INTERFACE } from './interface.ts';

export const KV_DEFINITION = fileURLToPath(new URL('enclave.yaml', import.meta.url));

/** Starts the KV enclave on the platform of `dataDir` and opens the store sealed there (if any). */
export async function openKv(dataDir: string): Promise<TypedEnclave<typeof KV_INTERFACE.spec>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'kv.sealed');
  const kv = await launchTypedEnclave(KV_INTERFACE, {
    definition: KV_DEFINITION,
    dataDir,
    ocalls: {
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
