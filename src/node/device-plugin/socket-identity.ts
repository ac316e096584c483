import { stat } from 'node:fs/promises';

/**
 * Identity of a file system entry: inode plus birth and change times, so that a socket deleted and
 * recreated at the same path (kubelet restart) reads as different even when the inode number is
 * reused. `undefined` when the path does not exist.
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.birthtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** True for ENOENT/ENOTDIR errors from node:fs. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
