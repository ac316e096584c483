import { readFile } from 'node:fs/promises';
import { IoError } from './errors.ts';

/** Reads a file named on the command line; failures become `ERR_IO` naming the path. */
export async function readInputFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot read ${path}: ${reason}`, { details: { path }, cause });
  }
}
