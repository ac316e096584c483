/**
 * Page layout of a simulated enclave: which pages are added, in which order, with which SECINFO
 * flags, and which are measured. The layout is a pure function of the {@link EnclaveImage}, so the
 * signer, `ccnodes enclave measure` and the simulated CPU's EINIT all compute the same MRENCLAVE.
 *
 * Pages, in ascending offset order from the enclave base (EADD order = address order):
 *
 * | area | pages | SECINFO | measured |
 * |---|---|---|---|
 * | manifest | JSON table (format, runtime id, entry, files with offset/size/perms, ecalls, ocalls, threads), NUL-terminated | REG+R `0x201` | yes |
 * | files | each file from a page boundary, zero-padded | `r` 0x201, `rw` 0x203, `rx` 0x205 | yes |
 * | per thread: TCS | 1 (OSSA, NSSA = 1, OENTRY = entry offset, FS/GS limits 0xfff) | TCS `0x100` | yes |
 * | per thread: SSA | `ssaFrameSize` pages | REG+RW `0x203` | yes (zero) |
 * | per thread: stack | `stackPages` | REG+RW `0x203` | no |
 * | heap | `heapPages` | REG+RW `0x203` | no |
 *
 * The manifest binds file names, sizes and the declared ECALL/OCALL names into MRENCLAVE, and the
 * runtime id binds the version of the enclave runtime (as a real enclave's MRENCLAVE covers its
 * trusted runtime library).
 */
import { EnclaveDefinitionError } from './enclave-errors.ts';
import type { EnclaveImage, FilePerms } from './enclave-definition.ts';
import { ENCLAVE_RUNTIME_ID } from './enclave-worker.ts';
import { PAGE_SIZE, SECINFO } from './measure.ts';

/** Format tag in the manifest page. */
export const ENCLAVE_MANIFEST_FORMAT = 'ccnodes-sim-enclave/1';

/** The manifest page's content (also the runtime's table of contents). */
export interface EnclaveManifest {
  readonly format: string;
  readonly runtime: string;
  readonly entry: string;
  readonly files: readonly { path: string; offset: number; size: number; perms: FilePerms }[];
  readonly ecalls: readonly string[];
  readonly ocalls: readonly string[];
  readonly tcsCount: number;
}

/** The area a page belongs to. */
export type PageArea = 'manifest' | 'file' | 'tcs' | 'ssa' | 'stack' | 'heap';

/** One page of the layout. Unmeasured pages carry empty content. */
export interface LayoutPage {
  readonly offset: bigint;
  readonly secinfoFlags: number;
  readonly measured: boolean;
  readonly content: Uint8Array;
  readonly area: PageArea;
}

/** The full page layout of an enclave. */
export interface EnclaveLayout {
  readonly enclaveSize: bigint;
  readonly ssaFrameSize: number;
  readonly pages: readonly LayoutPage[];
  readonly manifest: EnclaveManifest;
  /** Bytes used by the pages (the rest of ELRANGE is never added). */
  readonly usedBytes: bigint;
}

const PERM_FLAGS: Readonly<Record<FilePerms, number>> = {
  r: SECINFO.PT_REG | SECINFO.R,
  rw: SECINFO.PT_REG | SECINFO.R | SECINFO.W,
  rx: SECINFO.PT_REG | SECINFO.R | SECINFO.X,
};
const RW = SECINFO.PT_REG | SECINFO.R | SECINFO.W;
const EMPTY: Uint8Array = new Uint8Array(0);

function pagesFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / PAGE_SIZE));
}

/** TCS page content: the SDM fields a loader fills in (offsets relative to the enclave base). */
function tcsPage(ossa: number, oentry: number): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  const v = new DataView(page.buffer);
  v.setBigUint64(16, BigInt(ossa), true); // OSSA
  v.setUint32(28, 1, true); // NSSA
  v.setBigUint64(32, BigInt(oentry), true); // OENTRY
  v.setUint32(64, 0xfff, true); // FSLIMIT
  v.setUint32(68, 0xfff, true); // GSLIMIT
  return page;
}

function pushContent(
  pages: LayoutPage[],
  at: number,
  bytes: Uint8Array,
  flags: number,
  area: PageArea,
): number {
  const n = pagesFor(bytes.length);
  for (let i = 0; i < n; i++) {
    const content = new Uint8Array(PAGE_SIZE);
    content.set(bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    pages.push({ offset: BigInt(at + i * PAGE_SIZE), secinfoFlags: flags, measured: true, content, area });
  }
  return at + n * PAGE_SIZE;
}

/** Computes the page layout of `image`. Throws `ERR_ENCLAVE_LAYOUT` when it does not fit. */
export function layoutEnclave(image: EnclaveImage): EnclaveLayout {
  const def = image.definition;
  // File offsets depend on the manifest's size, which depends on the offsets: iterate to a fixed point.
  let manifestPages = 1;
  let manifest: EnclaveManifest;
  let manifestBytes: Uint8Array;
  for (;;) {
    let at = manifestPages * PAGE_SIZE;
    const files = def.files.map((f) => {
      const bytes = image.files.get(f.path);
      if (bytes === undefined) {
        throw new EnclaveDefinitionError('ERR_ENCLAVE_FILE', `files: no content for "${f.path}"`, {
          field: 'files',
        });
      }
      const entry = { path: f.path, offset: at, size: bytes.length, perms: f.perms };
      at += pagesFor(bytes.length) * PAGE_SIZE;
      return entry;
    });
    manifest = {
      format: ENCLAVE_MANIFEST_FORMAT,
      runtime: ENCLAVE_RUNTIME_ID,
      entry: def.entry,
      files,
      ecalls: def.ecalls,
      ocalls: def.ocalls,
      tcsCount: def.tcsCount,
    };
    manifestBytes = new Uint8Array(Buffer.from(`${JSON.stringify(manifest)}\0`, 'utf8'));
    const needed = pagesFor(manifestBytes.length);
    if (needed === manifestPages) break;
    manifestPages = needed;
  }
  const pages: LayoutPage[] = [];
  let at = pushContent(pages, 0, manifestBytes, PERM_FLAGS.r, 'manifest');
  for (const f of manifest.files) {
    at = pushContent(pages, f.offset, image.files.get(f.path) ?? EMPTY, PERM_FLAGS[f.perms], 'file');
  }
  const entryOffset = manifest.files.find((f) => f.path === def.entry)?.offset ?? 0;
  const add = (flags: number, measured: boolean, area: PageArea, content = EMPTY): void => {
    pages.push({ offset: BigInt(at), secinfoFlags: flags, measured, content, area });
    at += PAGE_SIZE;
  };
  for (let t = 0; t < def.tcsCount; t++) {
    const ossa = at + PAGE_SIZE;
    add(SECINFO.PT_TCS, true, 'tcs', tcsPage(ossa, entryOffset));
    for (let i = 0; i < def.ssaFrameSize; i++) add(RW, true, 'ssa', new Uint8Array(PAGE_SIZE));
    for (let i = 0; i < def.stackPages; i++) add(RW, false, 'stack');
  }
  for (let i = 0; i < def.heapPages; i++) add(RW, false, 'heap');
  const usedBytes = BigInt(at);
  if (usedBytes > def.enclaveSize) {
    throw new EnclaveDefinitionError(
      'ERR_ENCLAVE_LAYOUT',
      `enclaveSize: the enclave needs ${usedBytes} bytes (${pages.length} pages) but enclaveSize is ${def.enclaveSize}`,
      { field: 'enclaveSize', needed: Number(usedBytes) },
    );
  }
  return { enclaveSize: def.enclaveSize, ssaFrameSize: def.ssaFrameSize, pages, manifest, usedBytes };
}

/** Reads a file back out of the measured pages of a layout (what EINIT measured, byte for byte). */
export function readMeasuredFile(layout: EnclaveLayout, path: string): Uint8Array {
  const f = layout.manifest.files.find((x) => x.path === path);
  if (f === undefined) {
    throw new EnclaveDefinitionError('ERR_ENCLAVE_LAYOUT', `no measured file "${path}" in the layout`, {
      field: 'files',
    });
  }
  const out = new Uint8Array(f.size);
  for (const p of layout.pages) {
    const start = Number(p.offset) - f.offset;
    if (p.area !== 'file' || start < 0 || start >= f.size) continue;
    out.set(p.content.subarray(0, Math.min(PAGE_SIZE, f.size - start)), start);
  }
  return out;
}
