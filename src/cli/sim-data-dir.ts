/**
 * Where the simulated platform keeps its state when neither `--seed`/`--sim-seed` nor `--data-dir`
 * is given. A module of its own, importing nothing but node:path, so that `container run` (built as
 * one self-contained file, scripts/build.ts) does not carry sim-run.ts and its PCS server with it.
 */
import { join } from 'node:path';
import type { CliContext } from './context.ts';

/** The data directory used when neither `--seed` nor `--data-dir` is given. */
export function defaultSimDataDir(env: CliContext['env']): string | undefined {
  if (env.CCNODES_DATA_DIR !== undefined && env.CCNODES_DATA_DIR !== '') return env.CCNODES_DATA_DIR;
  if (env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== '') return join(env.XDG_DATA_HOME, 'ccnodes');
  if (env.HOME !== undefined && env.HOME !== '') return join(env.HOME, '.local', 'share', 'ccnodes');
  return undefined;
}
