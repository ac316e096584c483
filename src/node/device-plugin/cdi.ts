/**
 * Container Device Interface (CDI) for the SGX device nodes, as an alternative to device specs.
 *
 * With `--cdi-spec-dir`, the plugin writes one CDI spec (kind `ccnodes.io/sgx`, devices `enclave`
 * and `provision`) describing the host's SGX device nodes, and Allocate names those CDI devices
 * (`ccnodes.io/sgx=enclave`) instead of listing device specs. Kubelet (1.28 and later) passes the
 * names to the container runtime, which injects the nodes from the spec (containerd 1.7+ and CRI-O
 * with CDI enabled). The container sees the same paths as with device specs: the node's own name
 * and the other driver layout's name.
 *
 * The spec is rewritten (atomically: temp file + rename) whenever a rescan finds the device nodes
 * changed, and left in place on stop, because a container being created may still refer to it.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerDeviceSpecs, type SgxDeviceNode, type SgxDeviceNodes } from './sgx-scanner.ts';

/** CDI kind (vendor/class) of our devices. */
export const CDI_KIND = 'ccnodes.io/sgx';
/**
 * CDI spec version written: 0.5.0 is the first with `hostPath` on device nodes, which this spec
 * needs (the container path and the host path may differ). Runtimes refuse specs that declare a
 * version lower than the features they use require.
 */
export const CDI_VERSION = '0.5.0';
/** File name of the spec in the CDI directory. */
export const CDI_SPEC_FILE = 'ccnodes.io-sgx.json';

/** The fully qualified CDI device name for a role (`ccnodes.io/sgx=enclave`). */
export function cdiDeviceName(role: SgxDeviceNode['role']): string {
  return `${CDI_KIND}=${role}`;
}

/** One CDI device node edit. */
export interface CdiDeviceNode {
  readonly path: string;
  readonly hostPath: string;
  readonly permissions: string;
}

/** The CDI spec document. */
export interface CdiSpec {
  readonly cdiVersion: string;
  readonly kind: string;
  readonly devices: readonly {
    readonly name: string;
    readonly containerEdits: { readonly deviceNodes: readonly CdiDeviceNode[] };
  }[];
}

/** The spec for the device nodes found: one CDI device per node present (none when absent). */
export function cdiSpec(nodes: SgxDeviceNodes): CdiSpec {
  const present = [nodes.enclave, nodes.provision].filter((n): n is SgxDeviceNode => n !== undefined);
  return {
    cdiVersion: CDI_VERSION,
    kind: CDI_KIND,
    devices: present.map((node) => ({
      name: node.role,
      containerEdits: {
        deviceNodes: containerDeviceSpecs(node).map((d) => ({
          path: d.container_path,
          hostPath: d.host_path,
          permissions: d.permissions,
        })),
      },
    })),
  };
}

/** Writes the spec to `<dir>/ccnodes.io-sgx.json` atomically (mode 0644); returns its path. */
export async function writeCdiSpec(dir: string, nodes: SgxDeviceNodes): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, CDI_SPEC_FILE);
  const temp = join(dir, `.${CDI_SPEC_FILE}.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(cdiSpec(nodes), null, 2)}\n`, { mode: 0o644 });
  await rename(temp, path);
  return path;
}
