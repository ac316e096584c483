/** Preparing a unix socket path for `listen`: parent directory, stale socket file, path length. */
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { QuoteHelperConfigError } from './errors.ts';

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_PATH_BYTES = 107;

/**
 * Creates the parent directory and removes a stale socket left by an earlier run (as aesmd does).
 * Refuses to remove anything that is not a socket, and paths too long for `sun_path`.
 */
export async function prepareSocketPath(path: string, what: string): Promise<void> {
  if (path === '') throw new QuoteHelperConfigError(`${what}: socket path is empty`);
  if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw new QuoteHelperConfigError(
      `${what}: socket path is longer than ${MAX_UNIX_PATH_BYTES} bytes: ${path}`,
      {
        details: { path },
      },
    );
  }
  await mkdir(dirname(path), { recursive: true });
  let existing;
  try {
    existing = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new QuoteHelperConfigError(`${what}: cannot inspect ${path}`, { cause: err, details: { path } });
  }
  if (!existing.isSocket()) {
    throw new QuoteHelperConfigError(`${what}: ${path} exists and is not a socket; refusing to replace it`, {
      details: { path },
    });
  }
  await unlink(path);
}

/** Removes the socket file after the server closed (missing file is fine). */
export async function removeSocketFile(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {
    // already gone
  }
}
