/**
 * `ccnodes demo` (what `npm start` runs): a confidential workload end to end on one machine, in
 * simulation. Starts the services (demo-stack.ts), runs the steps (demo-flow.ts), prints each step
 * with its timing as it finishes and a summary, and cleans everything up.
 */
import { Option, type Command } from 'commander';
import { isCcnodesError } from '../errors/index.ts';
import type { CliContext } from './context.ts';
import { EXIT, untilAborted } from './context.ts';
import { TAMPER_MODES, type TamperMode } from './demo-tamper.ts';
import type { DemoStack } from './demo-stack.ts';

export interface DemoStepResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: Record<string, unknown>;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface DemoReport {
  readonly ok: boolean;
  readonly simulated: true;
  readonly tamper?: {
    readonly mode: TamperMode;
    readonly expectedFailure: string;
    readonly failedAt?: string;
  };
  readonly totalMs: number;
  readonly steps: readonly DemoStepResult[];
}

function errorOf(err: unknown): { code: string; message: string } {
  if (isCcnodesError(err)) return { code: err.code, message: err.message };
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string') {
    return { code: (err as Error & { code: string }).code, message: err.message };
  }
  return { code: 'ERR_UNEXPECTED', message: err instanceof Error ? err.message : String(err) };
}

function line(detail: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(detail)) {
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      out.push(`      ${k}:`);
      for (const item of v) out.push(`        ${String(item)}`);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      if (entries.length === 0) continue;
      out.push(`      ${k}: ${entries.map(([a, b]) => `${a}=${String(b)}`).join(' ')}`);
    } else {
      out.push(`      ${k}: ${String(v)}`);
    }
  }
  return out;
}

/** Runs the demo flow; `onStep` is told as each step starts and ends. Always closes the stack unless `keep`. */
export async function runDemo(options: {
  tamper?: TamperMode;
  enclavePath?: string;
  onStep?: (event: { phase: 'start' | 'end'; result?: DemoStepResult; id: string; title: string }) => void;
  keep?: (stack: DemoStack) => Promise<void>;
}): Promise<DemoReport> {
  // The services are loaded only when the demo runs, so other commands start light.
  const { startDemoStack } = await import('./demo-stack.ts');
  const { demoSteps } = await import('./demo-flow.ts');
  const started = performance.now();
  const results: DemoStepResult[] = [];
  const t0 = performance.now();
  let stack: DemoStack | undefined;
  options.onStep?.({ phase: 'start', id: 'services', title: 'Start services' });
  try {
    stack = await startDemoStack();
  } catch (err) {
    const r: DemoStepResult = {
      id: 'services',
      title: 'Start simulated PCS, attestation service, quote helper, device plugin',
      ok: false,
      ms: performance.now() - t0,
      error: errorOf(err),
    };
    options.onStep?.({ phase: 'end', id: r.id, title: r.title, result: r });
    return { ok: false, simulated: true, totalMs: performance.now() - started, steps: [r] };
  }
  const startMs = performance.now() - t0;
  try {
    const steps = demoSteps(stack, {
      ...(options.tamper === undefined ? {} : { tamper: options.tamper }),
      ...(options.enclavePath === undefined ? {} : { enclavePath: options.enclavePath }),
    });
    for (const step of steps) {
      if (step.id !== 'services') options.onStep?.({ phase: 'start', id: step.id, title: step.title });
      const t = performance.now();
      let r: DemoStepResult;
      try {
        const detail = await step.run();
        r = {
          id: step.id,
          title: step.title,
          ok: true,
          ms: step.id === 'services' ? startMs : performance.now() - t,
          detail,
        };
      } catch (err) {
        r = { id: step.id, title: step.title, ok: false, ms: performance.now() - t, error: errorOf(err) };
      }
      results.push(r);
      options.onStep?.({ phase: 'end', id: r.id, title: r.title, result: r });
      if (!r.ok) break;
    }
  } finally {
    if (options.keep !== undefined && results.every((r) => r.ok)) await options.keep(stack);
    await stack.close();
  }
  const failed = results.find((r) => !r.ok);
  const expected = options.tamper === undefined ? undefined : TAMPER_MODES[options.tamper].failsAt;
  const ok = options.tamper === undefined ? failed === undefined : failed?.id === expected;
  return {
    ok,
    simulated: true,
    ...(options.tamper === undefined || expected === undefined
      ? {}
      : {
          tamper: {
            mode: options.tamper,
            expectedFailure: expected,
            ...(failed === undefined ? {} : { failedAt: failed.id }),
          },
        }),
    totalMs: performance.now() - started,
    steps: results,
  };
}

/** Registers `ccnodes demo`. */
export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description(
      'Run a confidential workload end to end on this machine, in simulation: EPC allocation, enclave launch, quote, attestation, token check, secret release',
    )
    .addOption(
      new Option('--tamper <what>', 'break one thing and show the flow failing at the right step').choices(
        Object.keys(TAMPER_MODES),
      ),
    )
    .option('--enclave <definition>', 'enclave definition to run instead of examples/hello-enclave')
    .option(
      '--keep-running',
      'leave the services up after the flow and print their addresses; Ctrl-C stops them',
    )
    .option('--json', 'print one JSON report instead of the step list')
    .addHelpText(
      'after',
      `\nTamper modes:\n${Object.entries(TAMPER_MODES)
        .map(([k, v]) => `  ${k.padEnd(16)} ${v.what} (fails at "${v.failsAt}")`)
        .join(
          '\n',
        )}\n\nEverything runs in simulation: no SGX protection is in effect (see docs/simulation.md).`,
    )
    .action(
      async (opts: { tamper?: TamperMode; enclave?: string; keepRunning?: boolean; json?: boolean }) => {
        const json = opts.json === true;
        if (!json) {
          ctx.stdout(
            `ccnodes demo — a confidential workload end to end, in SIMULATION (no SGX hardware protection)${
              opts.tamper === undefined ? '' : `\ntamper: ${TAMPER_MODES[opts.tamper].what}`
            }\n\n`,
          );
        }
        const report = await runDemo({
          ...(opts.tamper === undefined ? {} : { tamper: opts.tamper }),
          ...(opts.enclave === undefined ? {} : { enclavePath: opts.enclave }),
          onStep: (e) => {
            if (json || e.phase !== 'end' || e.result === undefined) return;
            const r = e.result;
            const mark = r.ok ? '✔' : '✖';
            ctx.stdout(`${mark} ${r.title} (${r.ms.toFixed(0)} ms)\n`);
            if (r.detail !== undefined)
              ctx.stdout(
                line(r.detail)
                  .map((l) => `${l}\n`)
                  .join(''),
              );
            if (r.error !== undefined) ctx.stdout(`      ${r.error.code}: ${r.error.message}\n`);
          },
          ...(opts.keepRunning === true
            ? {
                keep: async (stack: DemoStack) => {
                  ctx.stdout(
                    [
                      '',
                      'Services left running (Ctrl-C stops them):',
                      `  attestation service   ${stack.attestationUrl}  (admin token: ${stack.adminToken})`,
                      `  simulated PCS         ${stack.pcs.url}`,
                      `  AESM socket           ${stack.aesmSocket}  (SGX_AESM_ADDR=1)`,
                      `  quote helper JSON API ${stack.jsonSocket}`,
                      `  kubelet socket        ${stack.kubelet.socketPath}`,
                      '',
                    ].join('\n'),
                  );
                  // The dashboard over these services (docs/dashboard.md); the services stay up without it.
                  const dashboard = await import('./dashboard-demo.ts')
                    .then((m) => m.startDemoDashboard(stack))
                    .catch((err: unknown) => {
                      ctx.stderr(
                        `ccnodes demo: the dashboard did not start: ${err instanceof Error ? err.message : String(err)}\n`,
                      );
                      return undefined;
                    });
                  if (dashboard !== undefined) ctx.stdout(`  dashboard             ${dashboard.url}\n\n`);
                  await untilAborted(ctx.signal);
                  await dashboard?.close();
                },
              }
            : {}),
        });
        if (json) {
          ctx.stdout(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          ctx.stdout('\nSummary\n');
          for (const r of report.steps) {
            ctx.stdout(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.id.padEnd(13)} ${r.ms.toFixed(0).padStart(6)} ms\n`);
          }
          ctx.stdout(`  total ${report.totalMs.toFixed(0)} ms\n`);
          if (report.tamper !== undefined) {
            ctx.stdout(
              report.ok
                ? `\nTampering was caught where expected: at "${report.tamper.expectedFailure}".\n`
                : `\nTampering was NOT caught where expected ("${report.tamper.expectedFailure}"; failed at ${report.tamper.failedAt ?? 'no step'}).\n`,
            );
          } else {
            ctx.stdout(
              report.ok
                ? '\nThe secret reached the enclave, and only the enclave could open it.\n'
                : '\nThe demo failed.\n',
            );
          }
        }
        ctx.exitCode = report.ok ? EXIT.OK : EXIT.CHECK_FAILED;
      },
    );
}
