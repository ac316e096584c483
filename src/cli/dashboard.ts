/**
 * `ccnodes dashboard …`: the operator dashboard: nodes, workloads, attestations, policies and collateral in a browser.
 * Verbs are registered below; each verb's work lives in a `dashboard-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { DashboardServeFlags } from './dashboard-serve.ts';
import { areaCommand } from './index.ts';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `ccnodes dashboard …`. */
export function registerDashboard(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'dashboard',
    'The operator dashboard: nodes, workloads, attestations, policies and collateral in a browser',
  );
  area
    .command('serve')
    .description(
      'Serve the read-only operator dashboard (pages and a JSON API under /api) from the Kubernetes API, the ' +
        "attestation service's API and the agents' Prometheus endpoints. Stops cleanly on SIGTERM/SIGINT.",
    )
    .option(
      '--listen <host:port>',
      'address to serve on (non-loopback needs --admin-token-file and TLS)',
      '127.0.0.1:8080',
    )
    .option(
      '--kubeconfig <path>',
      'kubeconfig (default: the service account in a cluster, else no Kubernetes data)',
    )
    .option('--attestation-url <url>', 'base URL of the attestation service')
    .option(
      '--admin-token-file <file>',
      "the attestation service's admin token: sent to it for the audit log and secret names, and required from browsers off loopback",
    )
    .option(
      '--metrics <[node=]urls...>',
      'Prometheus endpoints of agents (http(s)://…/metrics or unix:/path.sock[:/metrics]); node= ties one to a node (one or more; repeatable)',
      collect,
    )
    .option(
      '--collateral-url <url>',
      'PCS/PCCS v4 base URL (Intel PCS, a PCCS, the collateral service) for the Collateral page',
    )
    .option(
      '--fmspc <hex>',
      'FMSPC to show on the Collateral page (repeatable; default: what the source lists)',
      collect,
    )
    .option(
      '--plan-report <dir>',
      'a `plan simulate -o` report directory, or a directory of them, for the Plan page (repeatable)',
      collect,
    )
    .option('--tls-cert <pem>', 'serving certificate (PEM); HTTPS')
    .option('--tls-key <pem>', 'serving private key (PEM)')
    .option(
      '--insecure-http',
      'allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)',
      false,
    )
    .option('--require-token', 'require the admin token from browsers on loopback too', false)
    .option(
      '--sample-interval <s>',
      'seconds between samples of EPC use and token latency (0 = on page loads only)',
      '15',
    )
    .option('--json', 'print the URL as one JSON line', false)
    .action(async (flags: DashboardServeFlags) => {
      const { runDashboardServe } = await import('./dashboard-serve.ts');
      await runDashboardServe(flags, ctx);
    });
}
