/**
 * Every error registry in ccnodes, by module. docs/errors.md is generated from this list
 * (`npm run docs:errors`) and test/errors/catalog.test.ts keeps the two in step.
 * When a module gains a registry, add it here.
 */
import type { ErrorRegistry } from '../errors/index.ts';
import * as attestation from '../attestation/index.ts';
import * as collateralSource from '../collateral-source/index.ts';
import * as core from '../core/index.ts';
import * as policy from '../policy/index.ts';
import * as devicePlugin from '../node/device-plugin/index.ts';
import * as quoteHelper from '../node/quote-helper/index.ts';
import * as sim from '../sim/index.ts';
import * as kube from '../kube/index.ts';
import * as attestationClient from '../attestation-client/index.ts';
import * as ratls from '../ratls/index.ts';
import * as collateralService from '../collateral-service/index.ts';
import * as container from '../container/index.ts';
import * as planner from '../planner/index.ts';
import * as dashboard from '../dashboard/index.ts';
import { CLI_ERRORS } from './errors.ts';

export interface CatalogEntry {
  readonly module: string;
  readonly registry: ErrorRegistry;
  /** The module's exports, used by the test to check that each `type` is a real error class. */
  readonly exports: Readonly<Record<string, unknown>>;
}

export async function errorCatalog(): Promise<CatalogEntry[]> {
  return [
    { module: 'core', registry: core.CORE_ERRORS, exports: core },
    { module: 'core verification', registry: core.CORE_VERIFY_ERRORS, exports: core },
    { module: 'policy', registry: policy.POLICY_ERRORS, exports: policy },
    { module: 'node/device-plugin', registry: devicePlugin.DEVICE_PLUGIN_ERRORS, exports: devicePlugin },
    { module: 'node/quote-helper', registry: quoteHelper.QUOTE_HELPER_ERRORS, exports: quoteHelper },
    { module: 'sim (DCAP)', registry: sim.SIM_ERRORS, exports: sim },
    { module: 'sim (enclaves)', registry: sim.SIM_ENCLAVE_ERRORS, exports: sim },
    { module: 'attestation', registry: attestation.ATTESTATION_ERRORS, exports: attestation },
    {
      module: 'collateral-source (PCS client)',
      registry: collateralSource.PCS_ERRORS,
      exports: collateralSource,
    },
    { module: 'kube (webhook, labeller, deploy)', registry: kube.KUBE_ERRORS, exports: kube },
    {
      module: 'attestation-client',
      registry: attestationClient.ATTESTATION_CLIENT_ERRORS,
      exports: attestationClient,
    },
    { module: 'ratls', registry: ratls.RATLS_ERRORS, exports: ratls },
    {
      module: 'collateral-service',
      registry: collateralService.COLLATERAL_SERVICE_ERRORS,
      exports: collateralService,
    },
    { module: 'container', registry: container.CONTAINER_ERRORS, exports: container },
    { module: 'planner', registry: planner.PLANNER_ERRORS, exports: planner },
    { module: 'dashboard', registry: dashboard.DASHBOARD_ERRORS, exports: dashboard },
    { module: 'cli', registry: CLI_ERRORS, exports: await import('./errors.ts') },
  ];
}

/** Renders docs/errors.md. */
export function renderErrorsDoc(entries: readonly CatalogEntry[]): string {
  const lines = [
    '# Error codes',
    '',
    'Every error ccnodes raises on purpose carries a stable `code`. Codes never change meaning and are',
    'never reused. CLI `--json` output and service error bodies include the code; messages are for',
    'humans and name the field, byte offset or rule involved. This file is generated from the',
    'registries in `src/*/errors.ts` by `npm run docs:errors`; a test fails when they drift apart.',
    '',
  ];
  for (const entry of entries) {
    lines.push(`## ${entry.module}`, '', '| code | type | when |', '|---|---|---|');
    for (const [code, info] of Object.entries(entry.registry)) {
      lines.push(`| \`${code}\` | \`${info.type}\` | ${info.summary.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
