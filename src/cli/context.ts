/** What a command may touch: its output streams, environment and working directory. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /**
   * Aborted when the process is asked to stop (SIGTERM/SIGINT, wired in src/bin). Long-running
   * commands (daemons, `--keep-running`) wait on it and then shut down cleanly.
   */
  readonly signal: AbortSignal;
  /**
   * How to run this same CLI in a child process (`command args… <area> <verb>`), set by src/bin from
   * the running executable. Absent when the CLI runs inside another program (tests); commands that
   * would use a child process then do the work in-process.
   */
  readonly self?: SelfCommand;
  /** Reads all of standard input (for `-` as a file name); absent when there is none to read. */
  readonly readStdin?: () => Promise<Buffer>;
  /** Set by a command to report a failed check (1); usage and I/O errors (2) are thrown instead. */
  exitCode: number;
  /**
   * Called by a short-lived command whose work is over once it returns (`container run`: the
   * program has ended and the launcher has cleaned up) to have src/bin end the process right after
   * it, with `process.exit`, instead of waiting for Node's own teardown of whatever is left (worker
   * threads, the thread pool, the heap), which costs a launch 10-20 ms. Absent in tests.
   */
  readonly exitWhenDone?: () => void;
}

/** An executable and the arguments that start the CLI (before `<area> <verb>`). */
export interface SelfCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** Exit statuses shared by every command. */
export const EXIT = { OK: 0, CHECK_FAILED: 1, USAGE: 2 } as const;

/** Resolves once `signal` is aborted (at once if it already is): how daemons wait for SIGTERM/SIGINT. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}
