/**
 * The precompiled CLI as the container images run it (`node dist/ccnodes.js`, scripts/build.ts),
 * built fresh for a benchmark run so that its figures are for the code as it is now. The build goes
 * to `.tmp/bench-dist/` inside the checkout (the bundle loads its external packages from the
 * repository's node_modules), never over a `dist/` the user built.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../scripts/build.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

let built: Promise<string> | undefined;

/** Builds once per process and returns the path of the entry script (`…/ccnodes.js`). */
export function builtCliEntry(): Promise<string> {
  built ??= buildCli({ outdir: join(repo, '.tmp', 'bench-dist'), sourcemap: false }).then((r) => r.entry);
  return built;
}

/** This process's environment with NODE_OPTIONS set to `options` ('' removes it), as a DaemonSet sets it. */
export function envWithNodeOptions(options: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (options !== '') env['NODE_OPTIONS'] = options;
  return env;
}
