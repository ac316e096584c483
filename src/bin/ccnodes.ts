/** Main of the `ccnodes` executable: the only place that reads argv/env and sets the exit status. */
import { runCli } from '../cli/index.ts';

const stop = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    stop.abort(new Error(`received ${sig}`));
  });
}

// The same node, with the same runtime flags (minus debugger ones, whose port would clash) and the same
// entry script: how commands start this CLI again in a child process.
const entry = process.argv[1];
const self =
  entry === undefined
    ? undefined
    : {
        command: process.execPath,
        args: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), entry],
      };

// Set by a command through ctx.exitWhenDone (an object: TypeScript does not see the closure write).
const ending = { prompt: false };
const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  signal: stop.signal,
  ...(self === undefined ? {} : { self }),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  exitCode: 0,
  exitWhenDone: () => {
    ending.prompt = true;
  },
});
process.exitCode = code;
// Daemons have closed their servers by now; do not wait on stray handles of libraries. A command
// that asked for it ends at once too (stdout and stderr are written synchronously on Linux).
if (stop.signal.aborted || ending.prompt) process.exit(code);
