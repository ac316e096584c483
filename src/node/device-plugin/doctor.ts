/**
 * The node doctor: checks what a managed confidential node pre-installs and what a user must otherwise
 * verify — CPU flags (SGX, flexible launch control, FSGSBASE), kernel version, the SGX driver and its
 * device nodes with their permissions, the EPC size, the aesmd socket and, when configured, the PCCS —
 * and derives the ccnodes node labels. Every root is injectable so tests can run on fake trees.
 *
 * A `fail` is something SGX workloads cannot do without; a `warn` is worth knowing but optional
 * (legacy driver, no provisioning node, no aesmd). On a simulated node hardware failures become
 * warnings: the node is not meant to run real enclaves, and its labels say so.
 */
import { readFile, stat as fsStat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  AESM_SOCKET_PATH,
  LABEL_EPC_MIB,
  LABEL_FALSE,
  LABEL_FLC,
  LABEL_FSGSBASE,
  LABEL_SGX,
  LABEL_SIMULATED,
  LABEL_TRUE,
  MIB,
} from '../../contract/index.ts';
import { isCcnodesError } from '../../errors/index.ts';
import { readSysfsEpc, scanSgxDeviceNodes, type SgxDeviceNodes, type StatFn } from './sgx-scanner.ts';
import { findSgxSku } from './sku.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One line of the doctor's table. */
export interface DoctorCheck {
  /** Stable identifier, e.g. `cpu-sgx`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

/** The doctor's verdict. */
export interface DoctorReport {
  readonly checks: readonly DoctorCheck[];
  /** ccnodes.io/* labels for this node (see src/contract/labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  /** False when any check failed. */
  readonly ok: boolean;
  readonly simulatedSku?: string;
}

/** Inputs of {@link runNodeDoctor}; every path has the production default. */
export interface DoctorOptions {
  readonly devRoot?: string;
  readonly sysRoot?: string;
  readonly procRoot?: string;
  readonly aesmdSocket?: string;
  /** PCCS base URL (e.g. https://pccs:8081/sgx/certification/v4/); checked only when given. */
  readonly pccsUrl?: string;
  /** Azure SKU the node simulates: hardware failures become warnings. */
  readonly simulate?: string;
  /** EPC size in MiB when sysfs does not report it. */
  readonly epcMib?: number;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly stat?: StatFn;
}

/** The oldest kernel with the in-kernel SGX driver. */
export const MIN_SGX_KERNEL: readonly [number, number] = [5, 11];

type Draft = Omit<DoctorCheck, 'status'> & { status: CheckStatus };

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string, stat: StatFn): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The flag set of the first `flags` line of /proc/cpuinfo. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return new Set((line?.[1] ?? '').trim().split(/\s+/).filter(Boolean));
}

function kernelCheck(osrelease: string | undefined): Draft {
  const base = { id: 'kernel', title: 'Kernel version' };
  if (osrelease === undefined) return { ...base, status: 'warn', detail: 'cannot read sys/kernel/osrelease' };
  const release = osrelease.trim();
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null)
    return { ...base, status: 'warn', detail: `unrecognised release ${JSON.stringify(release)}` };
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const recent = major > MIN_SGX_KERNEL[0] || (major === MIN_SGX_KERNEL[0] && minor >= MIN_SGX_KERNEL[1]);
  return recent
    ? { ...base, status: 'pass', detail: `${release} (in-kernel SGX driver since 5.11)` }
    : {
        ...base,
        status: 'warn',
        detail: `${release} is older than 5.11: SGX needs the out-of-tree DCAP driver`,
      };
}

function flagCheck(
  id: string,
  title: string,
  flags: Set<string> | undefined,
  flag: string,
  why: string,
): Draft {
  if (flags === undefined) return { id, title, status: 'fail', detail: 'cannot read cpuinfo' };
  return flags.has(flag)
    ? { id, title, status: 'pass', detail: `"${flag}" in /proc/cpuinfo` }
    : { id, title, status: 'fail', detail: `"${flag}" missing from /proc/cpuinfo: ${why}` };
}

async function driverCheck(sysRoot: string, stat: StatFn): Promise<Draft> {
  const base = { id: 'driver', title: 'SGX driver' };
  if (await exists(join(sysRoot, 'class/misc/sgx_enclave'), stat)) {
    return { ...base, status: 'pass', detail: 'in-kernel driver (misc device sgx_enclave)' };
  }
  if (await exists(join(sysRoot, 'module/intel_sgx'), stat)) {
    return {
      ...base,
      status: 'warn',
      detail: 'legacy out-of-tree DCAP driver (intel_sgx); prefer Linux ≥ 5.11',
    };
  }
  if (await exists(join(sysRoot, 'module/isgx'), stat)) {
    return {
      ...base,
      status: 'warn',
      detail: 'out-of-tree isgx driver (no flexible launch control, no DCAP)',
    };
  }
  return {
    ...base,
    status: 'fail',
    detail: 'no SGX driver found in sysfs (class/misc/sgx_enclave, module/intel_sgx)',
  };
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function enclaveCheck(nodes: SgxDeviceNodes): Draft {
  const base = { id: 'enclave-device', title: 'Enclave device node' };
  const node = nodes.enclave;
  if (node === undefined) {
    const odd = nodes.notCharDevices.filter((p) => !p.includes('provision'));
    return {
      ...base,
      status: 'fail',
      detail:
        odd.length > 0
          ? `${odd.join(', ')} exists but is not a character device`
          : 'none of /dev/sgx_enclave, /dev/sgx/enclave, /dev/isgx',
    };
  }
  if ((node.mode & 0o006) !== 0o006) {
    return {
      ...base,
      status: 'warn',
      detail: `${node.path} mode ${octal(node.mode)}: non-root processes cannot open it (expected 0666)`,
    };
  }
  return { ...base, status: 'pass', detail: `${node.path} (${node.driver}), mode ${octal(node.mode)}` };
}

function provisionCheck(nodes: SgxDeviceNodes): Draft {
  const base = { id: 'provision-device', title: 'Provisioning device node' };
  const node = nodes.provision;
  if (node === undefined) {
    return {
      ...base,
      status: 'warn',
      detail: 'no /dev/sgx_provision: in-process quoting and a local aesmd cannot load the PCE',
    };
  }
  if ((node.mode & 0o006) !== 0) {
    return {
      ...base,
      status: 'warn',
      detail: `${node.path} mode ${octal(node.mode)} lets every user use the provisioning key (expected 0660, group sgx_prv)`,
    };
  }
  return { ...base, status: 'pass', detail: `${node.path} (${node.driver}), mode ${octal(node.mode)}` };
}

async function epcCheck(
  sysRoot: string,
  given: { mib: number; source: string } | undefined,
): Promise<{ draft: Draft; mib?: number }> {
  const base = { id: 'epc', title: 'EPC size' };
  if (given !== undefined) {
    return {
      draft: { ...base, status: 'pass', detail: `${given.mib} MiB (${given.source})` },
      mib: given.mib,
    };
  }
  try {
    const epc = await readSysfsEpc(sysRoot);
    if (epc === undefined) {
      return {
        draft: {
          ...base,
          status: 'warn',
          detail: 'not reported by sysfs (node*/x86/sgx_total_bytes, Linux ≥ 5.17); give --epc-mib',
        },
      };
    }
    if (epc.bytes < MIB)
      return { draft: { ...base, status: 'fail', detail: `sysfs reports ${epc.bytes} bytes of EPC` } };
    const mib = Math.floor(epc.bytes / MIB);
    const per = epc.perNode.map((n) => `${n.node} ${Math.floor(n.bytes / MIB)} MiB`).join(', ');
    return { draft: { ...base, status: 'pass', detail: `${mib} MiB (${per})` }, mib };
  } catch (err) {
    return { draft: { ...base, status: 'fail', detail: isCcnodesError(err) ? err.message : String(err) } };
  }
}

function canConnect(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function aesmdCheck(path: string, stat: StatFn, timeoutMs: number): Promise<Draft> {
  const base = { id: 'aesmd', title: 'aesmd socket' };
  let isSocket: boolean;
  try {
    isSocket = (await stat(path)).isSocket();
  } catch {
    return {
      ...base,
      status: 'warn',
      detail: `${path} absent: out-of-process attestation needs the quote helper or Intel aesmd`,
    };
  }
  if (!isSocket) return { ...base, status: 'warn', detail: `${path} exists but is not a socket` };
  return (await canConnect(path, timeoutMs))
    ? { ...base, status: 'pass', detail: `${path} accepts connections` }
    : { ...base, status: 'warn', detail: `${path} refuses connections (daemon not running?)` };
}

/** The URL the PCCS check fetches: `<base>/sgx/certification/v4/rootcacrl`. */
export function pccsProbeUrl(pccsUrl: string): string {
  const url = new URL(pccsUrl);
  if (!/\/sgx\/certification\/v\d+\/?$/.test(url.pathname)) {
    url.pathname = `${url.pathname.replace(/\/$/, '')}/sgx/certification/v4/`;
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return new URL('rootcacrl', url).toString();
}

async function pccsCheck(pccsUrl: string, fetchFn: typeof fetch, timeoutMs: number): Promise<Draft> {
  const base = { id: 'pccs', title: 'PCCS reachable' };
  let probe: string;
  try {
    probe = pccsProbeUrl(pccsUrl);
  } catch {
    return { ...base, status: 'fail', detail: `${JSON.stringify(pccsUrl)} is not a URL` };
  }
  try {
    const res = await fetchFn(probe, { signal: AbortSignal.timeout(timeoutMs) });
    // The status is the answer; the body (a CRL, or whatever a wrong URL returns) is not read.
    await res.body?.cancel().catch(() => undefined);
    return res.ok
      ? { ...base, status: 'pass', detail: `GET ${probe} → ${res.status}` }
      : { ...base, status: 'fail', detail: `GET ${probe} → HTTP ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const reason = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
    return { ...base, status: 'fail', detail: `GET ${probe} failed: ${reason}` };
  }
}

/** Runs every check and derives the node labels. Never throws for what it finds on the node. */
export async function runNodeDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const devRoot = options.devRoot ?? '/dev';
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const stat = options.stat ?? fsStat;
  const timeoutMs = options.timeoutMs ?? 5000;
  const sku = options.simulate === undefined ? undefined : findSgxSku(options.simulate);

  const cpuinfo = await readText(join(procRoot, 'cpuinfo'));
  const flags = cpuinfo === undefined ? undefined : cpuFlags(cpuinfo);
  const nodes = await scanSgxDeviceNodes(devRoot, stat);
  const given =
    options.epcMib !== undefined
      ? { mib: options.epcMib, source: '--epc-mib' }
      : sku === undefined
        ? undefined
        : { mib: sku.epcMiB, source: `simulated ${sku.name}` };
  const epc = await epcCheck(sysRoot, given);

  const drafts: Draft[] = [
    kernelCheck(await readText(join(procRoot, 'sys/kernel/osrelease'))),
    flagCheck('cpu-sgx', 'CPU SGX', flags, 'sgx', 'SGX is off in firmware or not supported'),
    flagCheck(
      'cpu-flc',
      'Flexible launch control',
      flags,
      'sgx_lc',
      'DCAP and the in-kernel driver need FLC',
    ),
    flagCheck('cpu-fsgsbase', 'FSGSBASE', flags, 'fsgsbase', 'enclave runtimes need it (Linux ≥ 5.9)'),
    await driverCheck(sysRoot, stat),
    enclaveCheck(nodes),
    provisionCheck(nodes),
    epc.draft,
    await aesmdCheck(options.aesmdSocket ?? AESM_SOCKET_PATH, stat, timeoutMs),
  ];
  if (options.pccsUrl !== undefined) {
    drafts.push(await pccsCheck(options.pccsUrl, options.fetch ?? fetch, timeoutMs));
  }
  const hardware = new Set([
    'kernel',
    'cpu-sgx',
    'cpu-flc',
    'cpu-fsgsbase',
    'driver',
    'enclave-device',
    'provision-device',
  ]);
  const checks: DoctorCheck[] = drafts.map((d) =>
    sku !== undefined && hardware.has(d.id) && d.status === 'fail'
      ? { ...d, status: 'warn', detail: `simulated node (${sku.name}), not needed: ${d.detail}` }
      : d,
  );
  const status = (id: string): CheckStatus | undefined => checks.find((c) => c.id === id)?.status;
  const sgx =
    sku === undefined &&
    status('cpu-sgx') === 'pass' &&
    status('cpu-flc') === 'pass' &&
    status('driver') !== 'fail' &&
    status('enclave-device') !== 'fail';
  const labels: Record<string, string> = {
    [LABEL_SGX]: sgx ? LABEL_TRUE : LABEL_FALSE,
    ...(epc.mib === undefined ? {} : { [LABEL_EPC_MIB]: String(epc.mib) }),
    [LABEL_FLC]: flags?.has('sgx_lc') === true ? LABEL_TRUE : LABEL_FALSE,
    [LABEL_FSGSBASE]: flags?.has('fsgsbase') === true ? LABEL_TRUE : LABEL_FALSE,
    [LABEL_SIMULATED]: sku === undefined ? LABEL_FALSE : LABEL_TRUE,
  };
  return {
    checks,
    labels,
    ok: checks.every((c) => c.status !== 'fail'),
    ...(sku === undefined ? {} : { simulatedSku: sku.name }),
  };
}
