/** Running an ES module script (TypeScript through tsx) in a child Node process, for tests of process-level behaviour. */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './testdata.ts';

/**
 * Runs `script` with `node --import tsx --input-type=module -e` in the repository root. Resolves
 * with its exit code (null when it was killed after `timeoutMs`, e.g. because something kept it
 * alive) and its trimmed stdout.
 */
export async function runModuleScript(
  script: string,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stdout: stdout.trim() };
}
