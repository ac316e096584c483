/**
 * The CLI's context for this process (argv/env, stdio, signals, exit): what both entries of the
 * `ccnodes` executable give `runCli` or a standalone command (src/bin/ccnodes.ts, the ES module main;
 * src/bin/fast-start.ts, the CommonJS start of `container run` and `quote verify`). Those two files
 * are the only places that read argv/env and set the exit status.
 */
import type { CliContext } from '../cli/index.ts';

/** A context for one invocation, and how to end the process once the command has returned. */
export interface ProcessContext {
  readonly ctx: CliContext;
  /** Sets the exit status; ends the process at once after a signal, or when the command asked for it. */
  readonly finish: (code: number) => void;
}

export function processContext(): ProcessContext {
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      stop.abort(new Error(`received ${sig}`));
    });
  }
  // The same node, with the same runtime flags (minus debugger ones, whose port would clash) and the
  // same entry script: how commands start this CLI again in a child process.
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
  const ctx: CliContext = {
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
  };
  return {
    ctx,
    finish: (code) => {
      process.exitCode = code;
      // Daemons have closed their servers by now; do not wait on stray handles of libraries. A
      // command that asked for it ends at once too (stdout and stderr are written synchronously on Linux).
      if (stop.signal.aborted || ending.prompt) process.exit(code);
    },
  };
}
