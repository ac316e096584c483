/** Shared fixtures of the sim-enclave tests: small in-memory enclave images and signing keys. */
import {
  enclaveImage,
  generateEnclaveSigningKey,
  signEnclave,
  validateEnclaveDefinition,
  type EnclaveImage,
} from '../../src/sim/index.ts';

let keys: { a: string; b: string } | undefined;

/** Two RSA-3072 e=3 signing keys (PEM), generated once per test process. */
export function signingKeys(): { a: string; b: string } {
  keys ??= { a: generateEnclaveSigningKey().privateKeyPem, b: generateEnclaveSigningKey().privateKeyPem };
  return keys;
}

/** A default entry module. */
export const ENTRY = "enclave.ecall('ping', function (x) { return x; });\n";

/** An in-memory image; `def` overrides fields of a small default definition. */
export function makeImage(
  def: Record<string, unknown> = {},
  files: Record<string, string> = {},
): EnclaveImage {
  const definition = validateEnclaveDefinition({
    name: 'test-enclave',
    enclaveSize: '256K',
    tcsCount: 1,
    stackPages: 1,
    heapPages: 4,
    isvProdId: 7,
    isvSvn: 2,
    entry: 'main.js',
    files: [{ path: 'main.js', perms: 'rx' }],
    ecalls: ['ping'],
    ...def,
  });
  return enclaveImage(definition, { 'main.js': ENTRY, ...files });
}

/** Signs `image` with key `which` (a or b). */
export function sign(image: EnclaveImage, which: 'a' | 'b' = 'a'): Uint8Array {
  return signEnclave(image, signingKeys()[which]).bytes;
}
