/**
 * Finds the SGX device nodes and the EPC size of this node, under injectable roots so that tests can
 * build fake trees (`--dev-root`, `--sys-root`).
 *
 * Device nodes (DESIGN.md §3): the in-kernel driver's `/dev/sgx_enclave` and `/dev/sgx_provision`
 * (Linux ≥ 5.11), the DCAP out-of-tree driver's `/dev/sgx/enclave` and `/dev/sgx/provision`, and the
 * old non-FLC driver's `/dev/isgx` (enclave only). An entry counts only if it is a character device
 * (symlinks are followed, as udev creates `/dev/sgx/*` links to the in-kernel nodes).
 *
 * EPC size (spec §2.2): the kernel reports EPC per NUMA node in
 * `/sys/devices/system/node/node<N>/x86/sgx_total_bytes`; the node's EPC is their sum.
 */
import { readdir, readFile, stat as fsStat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import {
  DEV_ISGX,
  DEV_SGX_ENCLAVE,
  DEV_SGX_LEGACY_ENCLAVE,
  DEV_SGX_LEGACY_PROVISION,
  DEV_SGX_PROVISION,
} from '../../contract/index.ts';
import type { DeviceSpec } from './api-types.ts';
import { DeviceDiscoveryError } from './errors.ts';
import { isNotFound } from './socket-identity.ts';

/** Which driver a device node belongs to. */
export type SgxDriver = 'in-kernel' | 'dcap-legacy' | 'isgx';

/** A discovered SGX device node. `path` is the host path (`/dev/...`), not the path under the dev root. */
export interface SgxDeviceNode {
  readonly role: 'enclave' | 'provision';
  readonly path: string;
  readonly driver: SgxDriver;
  /** Permission bits (e.g. 0o666). */
  readonly mode: number;
}

/** Result of one scan of the device root. */
export interface SgxDeviceNodes {
  readonly enclave?: SgxDeviceNode;
  readonly provision?: SgxDeviceNode;
  /** Every host path looked at, in order. */
  readonly searched: readonly string[];
  /** Paths that exist but are not character devices. */
  readonly notCharDevices: readonly string[];
}

/** `stat` seam (follows symlinks). */
export type StatFn = (path: string) => Promise<Stats>;

interface Candidate {
  readonly path: string;
  readonly driver: SgxDriver;
}

/** Search order of the enclave node. */
export const ENCLAVE_CANDIDATES: readonly Candidate[] = [
  { path: DEV_SGX_ENCLAVE, driver: 'in-kernel' },
  { path: DEV_SGX_LEGACY_ENCLAVE, driver: 'dcap-legacy' },
  { path: DEV_ISGX, driver: 'isgx' },
];

/** Search order of the provisioning node (the isgx driver has none). */
export const PROVISION_CANDIDATES: readonly Candidate[] = [
  { path: DEV_SGX_PROVISION, driver: 'in-kernel' },
  { path: DEV_SGX_LEGACY_PROVISION, driver: 'dcap-legacy' },
];

/** Maps a host `/dev/...` path into the device root. */
export function underDevRoot(devRoot: string, hostPath: string): string {
  return join(devRoot, hostPath.replace(/^\/dev\/?/, ''));
}

/** Scans the device root for the enclave and provisioning nodes. */
export async function scanSgxDeviceNodes(devRoot: string, stat: StatFn = fsStat): Promise<SgxDeviceNodes> {
  const searched: string[] = [];
  const notCharDevices: string[] = [];
  const find = async (role: 'enclave' | 'provision', candidates: readonly Candidate[]) => {
    for (const c of candidates) {
      searched.push(c.path);
      let st: Stats;
      try {
        st = await stat(underDevRoot(devRoot, c.path));
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      if (!st.isCharacterDevice()) {
        notCharDevices.push(c.path);
        continue;
      }
      return { role, path: c.path, driver: c.driver, mode: st.mode & 0o777 } satisfies SgxDeviceNode;
    }
    return undefined;
  };
  const enclave = await find('enclave', ENCLAVE_CANDIDATES);
  const provision = await find('provision', PROVISION_CANDIDATES);
  return {
    ...(enclave === undefined ? {} : { enclave }),
    ...(provision === undefined ? {} : { provision }),
    searched,
    notCharDevices,
  };
}

/** Throws `ERR_DEVICE_PLUGIN_NO_SGX_DEVICE` unless an enclave node was found. */
export function requireEnclaveNode(nodes: SgxDeviceNodes, devRoot: string): SgxDeviceNode {
  if (nodes.enclave !== undefined) return nodes.enclave;
  const odd =
    nodes.notCharDevices.length > 0
      ? `; present but not character devices: ${nodes.notCharDevices.join(', ')}`
      : '';
  throw new DeviceDiscoveryError(
    'ERR_DEVICE_PLUGIN_NO_SGX_DEVICE',
    `no SGX enclave device node under ${devRoot} (searched ${ENCLAVE_CANDIDATES.map((c) => c.path).join(', ')}${odd}); ` +
      'is the SGX driver loaded and /dev mounted into the container? For a node without SGX use --simulate <SKU>',
    { devRoot, searched: nodes.searched, notCharDevices: nodes.notCharDevices },
  );
}

/** EPC reported by sysfs. */
export interface SysfsEpc {
  readonly bytes: number;
  readonly perNode: readonly { readonly node: string; readonly bytes: number }[];
}

/** The sysfs directory holding NUMA nodes. */
export const SYSFS_NUMA_DIR = 'devices/system/node';

/**
 * Sums `node*\/x86/sgx_total_bytes` under the sysfs root; `undefined` when no node reports EPC
 * (kernel too old, or not an SGX machine). Malformed values throw `ERR_DEVICE_PLUGIN_SYSFS_VALUE`.
 */
export async function readSysfsEpc(sysRoot: string): Promise<SysfsEpc | undefined> {
  const dir = join(sysRoot, SYSFS_NUMA_DIR);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const perNode: { node: string; bytes: number }[] = [];
  const nodes = entries
    .filter((e) => /^node\d+$/.test(e))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  for (const node of nodes) {
    const file = join(dir, node, 'x86', 'sgx_total_bytes');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    const trimmed = text.trim();
    if (!/^\d{1,16}$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
      throw new DeviceDiscoveryError(
        'ERR_DEVICE_PLUGIN_SYSFS_VALUE',
        `${file}: expected a byte count, found ${JSON.stringify(text.slice(0, 40))}`,
        { file },
      );
    }
    perNode.push({ node, bytes: Number(trimmed) });
  }
  if (perNode.length === 0) return undefined;
  return { bytes: perNode.reduce((sum, n) => sum + n.bytes, 0), perNode };
}

/**
 * Device specs that give a container the node, at its own path and at the other driver's name, so
 * that software written for either layout opens it (in-kernel `/dev/sgx_enclave` ⇄ DCAP
 * `/dev/sgx/enclave`). `/dev/isgx` is passed as is.
 */
export function containerDeviceSpecs(node: SgxDeviceNode): DeviceSpec[] {
  const spec = (containerPath: string): DeviceSpec => ({
    container_path: containerPath,
    host_path: node.path,
    permissions: 'rw',
  });
  if (node.driver === 'isgx') return [spec(DEV_ISGX)];
  const inKernel = node.role === 'enclave' ? DEV_SGX_ENCLAVE : DEV_SGX_PROVISION;
  const legacy = node.role === 'enclave' ? DEV_SGX_LEGACY_ENCLAVE : DEV_SGX_LEGACY_PROVISION;
  return node.driver === 'in-kernel' ? [spec(inKernel), spec(legacy)] : [spec(legacy), spec(inKernel)];
}
