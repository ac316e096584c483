/**
 * Fake device, sysfs and procfs trees for device plugin and doctor tests. Device "nodes" are symlinks
 * to /dev/null, so they are real character devices to stat() and need no privileges to create.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FakeSgxTreeOptions {
  /** Enclave node layout, or false for none (default 'in-kernel'). */
  readonly enclave?: 'in-kernel' | 'dcap-legacy' | 'isgx' | false;
  /** Create the provisioning node (default true; never for isgx). */
  readonly provision?: boolean;
  /** sgx_total_bytes per NUMA node; empty for none (default one node of 112 MiB). */
  readonly epcBytesPerNode?: readonly number[];
  /** Flags in /proc/cpuinfo (default sgx, sgx_lc, fsgsbase plus some usual ones). */
  readonly cpuFlags?: readonly string[];
  /** /proc/sys/kernel/osrelease (default 6.8.0-1015-azure). */
  readonly osrelease?: string | false;
  /** Create /sys/class/misc/sgx_enclave (in-kernel driver evidence); default follows `enclave`. */
  readonly miscSgx?: boolean;
}

export interface FakeSgxTree {
  readonly root: string;
  readonly devRoot: string;
  readonly sysRoot: string;
  readonly procRoot: string;
  /** Path under the dev root for a host path like /dev/sgx_enclave. */
  dev(hostPath: string): string;
  remove(): void;
}

export const DEFAULT_CPU_FLAGS = ['fpu', 'vme', 'sse2', 'avx2', 'fsgsbase', 'sgx', 'sgx_lc', 'aes'];

export function makeFakeSgxTree(options: FakeSgxTreeOptions = {}): FakeSgxTree {
  const root = mkdtempSync(join(tmpdir(), 'ccnodes-sgx-tree-'));
  const devRoot = join(root, 'dev');
  const sysRoot = join(root, 'sys');
  const procRoot = join(root, 'proc');
  mkdirSync(devRoot, { recursive: true });
  mkdirSync(sysRoot, { recursive: true });
  mkdirSync(procRoot, { recursive: true });
  const dev = (hostPath: string): string => join(devRoot, hostPath.replace(/^\/dev\//, ''));
  const node = (hostPath: string): void => {
    mkdirSync(dirname(dev(hostPath)), { recursive: true });
    symlinkSync('/dev/null', dev(hostPath));
  };
  const enclave = options.enclave ?? 'in-kernel';
  const provision = options.provision ?? true;
  if (enclave === 'in-kernel') {
    node('/dev/sgx_enclave');
    if (provision) node('/dev/sgx_provision');
  } else if (enclave === 'dcap-legacy') {
    node('/dev/sgx/enclave');
    if (provision) node('/dev/sgx/provision');
    mkdirSync(join(sysRoot, 'module', 'intel_sgx'), { recursive: true });
  } else if (enclave === 'isgx') {
    node('/dev/isgx');
    mkdirSync(join(sysRoot, 'module', 'isgx'), { recursive: true });
  }
  if (options.miscSgx ?? enclave === 'in-kernel') {
    mkdirSync(join(sysRoot, 'class', 'misc', 'sgx_enclave'), { recursive: true });
  }
  const epc = options.epcBytesPerNode ?? [112 * 1024 * 1024];
  epc.forEach((bytes, i) => {
    const d = join(sysRoot, 'devices', 'system', 'node', `node${i}`, 'x86');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'sgx_total_bytes'), `${bytes}\n`);
  });
  const flags = options.cpuFlags ?? DEFAULT_CPU_FLAGS;
  const cpu = (n: number): string =>
    `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz\nflags\t\t: ${flags.join(' ')}\n\n`;
  writeFileSync(join(procRoot, 'cpuinfo'), cpu(0) + cpu(1));
  if (options.osrelease !== false) {
    mkdirSync(join(procRoot, 'sys', 'kernel'), { recursive: true });
    writeFileSync(
      join(procRoot, 'sys', 'kernel', 'osrelease'),
      `${options.osrelease ?? '6.8.0-1015-azure'}\n`,
    );
  }
  return {
    root,
    devRoot,
    sysRoot,
    procRoot,
    dev,
    remove: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
