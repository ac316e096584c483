/** Main of the `ccnodes` executable: the only place that reads argv/env and sets the exit status. */
import 'reflect-metadata';
import { runCli } from '../cli/index.ts';

const stop = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    stop.abort(new Error(`received ${sig}`));
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  signal: stop.signal,
  exitCode: 0,
});
process.exitCode = code;
// Daemons have closed their servers by now; do not wait on stray handles of libraries.
if (stop.signal.aborted) process.exit(code);
