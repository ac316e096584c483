/**
 * `ccnodes node doctor`: checks an SGX node (CPU flags, kernel, driver, device nodes and permissions,
 * EPC, aesmd socket, optionally the PCCS) and prints the ccnodes node labels it derives. Human table by
 * default, `--json` for machines. Exit status: 0 when nothing failed (warnings allowed), 1 when a
 * required check failed, 2 for bad flags.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AESM_SOCKET_PATH } from '../contract/index.ts';
import type { DoctorReport } from '../node/device-plugin/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { UsageError } from './errors.ts';
import { areaCommand } from './index.ts';

interface DoctorFlags {
  readonly json: boolean;
  readonly devRoot: string;
  readonly sysRoot: string;
  readonly procRoot: string;
  readonly aesmdSocket: string;
  readonly pccsUrl?: string;
  readonly simulate?: string;
  readonly epcMib?: string;
  readonly timeout: string;
}

function positiveInt(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new UsageError(`${flag}: expected a positive integer, got "${text}"`);
  return Number(text);
}

/** Renders the report as an aligned table plus the labels and a one-line verdict. */
export function renderDoctorReport(report: DoctorReport): string {
  const idWidth = Math.max(5, ...report.checks.map((c) => c.id.length));
  const lines = [`${'STATUS'.padEnd(6)}  ${'CHECK'.padEnd(idWidth)}  DETAIL`];
  for (const c of report.checks) lines.push(`${c.status.padEnd(6)}  ${c.id.padEnd(idWidth)}  ${c.detail}`);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('', 'labels:');
  for (const [k, v] of Object.entries(report.labels)) lines.push(`  ${k}=${v}`);
  lines.push(
    '',
    `result: ${report.ok ? 'pass' : 'FAIL'} (${failed} failed, ${warned} warning${warned === 1 ? '' : 's'})` +
      (report.simulatedSku === undefined ? '' : ` — simulated ${report.simulatedSku}`),
  );
  return `${lines.join('\n')}\n`;
}

async function runDoctor(flags: DoctorFlags, ctx: CliContext): Promise<void> {
  if (flags.pccsUrl !== undefined && !URL.canParse(flags.pccsUrl)) {
    throw new UsageError(`--pccs-url: ${JSON.stringify(flags.pccsUrl)} is not a URL`);
  }
  const dp = await import('../node/device-plugin/index.ts');
  let report: DoctorReport;
  try {
    report = await dp.runNodeDoctor({
      devRoot: resolve(ctx.cwd, flags.devRoot),
      sysRoot: resolve(ctx.cwd, flags.sysRoot),
      procRoot: resolve(ctx.cwd, flags.procRoot),
      aesmdSocket: resolve(ctx.cwd, flags.aesmdSocket),
      timeoutMs: positiveInt(flags.timeout, '--timeout'),
      ...(flags.pccsUrl === undefined ? {} : { pccsUrl: flags.pccsUrl }),
      ...(flags.simulate === undefined ? {} : { simulate: flags.simulate }),
      ...(flags.epcMib === undefined ? {} : { epcMib: positiveInt(flags.epcMib, '--epc-mib') }),
    });
  } catch (err) {
    if (err instanceof dp.DevicePluginConfigError)
      throw new UsageError(`${err.message} (${err.code})`, { ...err.details });
    throw err;
  }
  ctx.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorReport(report));
  if (!report.ok) ctx.exitCode = EXIT.CHECK_FAILED;
}

/** Registers `ccnodes node doctor`. */
export function registerNodeDoctor(program: Command, ctx: CliContext): void {
  areaCommand(program, 'node', 'Node agents: SGX device plugin, quote helper, node doctor.')
    .command('doctor')
    .description(
      'Check this node for SGX: CPU flags (sgx, sgx_lc, fsgsbase), kernel, driver, /dev/sgx_* nodes and ' +
        'permissions, EPC size, aesmd socket, PCCS reachability; print pass/warn/fail and the ccnodes.io ' +
        'node labels. Exit 1 when a required check fails.',
    )
    .option('--json', 'print the report as JSON', false)
    .option('--dev-root <dir>', 'where the host /dev is mounted', '/dev')
    .option('--sys-root <dir>', 'where the host /sys is mounted', '/sys')
    .option('--proc-root <dir>', 'where the host /proc is mounted', '/proc')
    .option('--aesmd-socket <path>', 'aesmd (or quote helper) socket to probe', AESM_SOCKET_PATH)
    .option('--pccs-url <url>', 'PCCS base URL to probe (e.g. https://pccs:8081/sgx/certification/v4/)')
    .option('--simulate <SKU>', 'the node simulates this Azure SGX size: hardware failures become warnings')
    .option('--epc-mib <MiB>', 'EPC size when sysfs does not report it')
    .option('--timeout <ms>', 'timeout of the socket and PCCS probes', '5000')
    .action(async (flags: DoctorFlags) => {
      await runDoctor(flags, ctx);
    });
}
