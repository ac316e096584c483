/** Running a short-lived child process (usually this CLI again) and collecting its outcome. */
import { spawn } from 'node:child_process';

/** How a child process ended, and what it printed. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Killed (SIGKILL) because it had not ended within the time given. */
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command args` with `env` and `input` on its standard input (none: stdin is not connected),
 * keeps the first `outputCap` characters of its stdout and of its stderr, and kills it with SIGKILL
 * after `timeoutMs`. Resolves once it has ended and its output is closed; rejects only when it
 * cannot be started.
 */
export function runChild(
  command: string,
  args: readonly string[],
  options: {
    readonly env: NodeJS.ProcessEnv;
    readonly timeoutMs: number;
    readonly input?: string;
    readonly outputCap?: number;
  },
): Promise<ChildOutcome> {
  const cap = options.outputCap ?? 1 << 20;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < cap) stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < cap) stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, timedOut, stdout, stderr });
    });
    if (options.input !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => {
        // The child exited before reading its input; its exit status tells why.
      });
      child.stdin.end(options.input);
    }
  });
}
