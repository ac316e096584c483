/**
 * Reading a small file whole, synchronously and within a byte bound: the manifest, app.sig and a
 * manifest's CA file.
 *
 * `container run` reads these first, and everything else waits for them. Read through the thread
 * pool (`fs/promises`), each is four round trips (open, stat, read, close), and each round trip
 * waits for the launcher's main thread, which at that point is busy starting the platform and
 * loading code: on the bench machine the manifest arrived 15–25 ms after it was asked for. Read here
 * it takes a few system calls on the spot.
 *
 * The file is opened non-blocking and must be a regular file, so a FIFO or a device put in its
 * place is refused instead of blocking the process or being read without end; it is read to one
 * byte past the bound, whatever its size said, so a file that grows meanwhile is refused too.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Why a small file could not be read (the caller turns it into its own typed error). */
export class SmallFileError extends Error {
  /** `io` (open or read failed), `not-file` (not a regular file) or `too-large`. */
  readonly reason: 'io' | 'not-file' | 'too-large';

  constructor(reason: 'io' | 'not-file' | 'too-large', message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SmallFileError';
    this.reason = reason;
  }
}

/**
 * The bytes of the regular file `path`, at most `maxBytes` of them.
 * @throws SmallFileError naming the path and, for `too-large`, the bound.
 */
export function readSmallFile(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw new SmallFileError('io', (cause as Error).message, cause);
  }
  try {
    let size: number;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new SmallFileError('not-file', `${path} is not a regular file`);
      size = st.size;
    } catch (cause) {
      if (cause instanceof SmallFileError) throw cause;
      throw new SmallFileError('io', (cause as Error).message, cause);
    }
    const tooLarge = (): SmallFileError =>
      new SmallFileError('too-large', `${path} is larger than ${maxBytes} bytes`);
    if (size > maxBytes) throw tooLarge();
    // Room for one byte more than the file had (and at most one more than the bound), so that a
    // file grown since the stat is seen: the buffer grows while it fills, up to that byte.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, size) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) throw tooLarge();
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, n);
      } catch (cause) {
        throw new SmallFileError('io', (cause as Error).message, cause);
      }
      if (got === 0) break;
      n += got;
    }
    if (n > maxBytes) throw tooLarge();
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** {@link readSmallFile} decoded as UTF-8. */
export function readSmallTextFile(path: string, maxBytes: number): string {
  return readSmallFile(path, maxBytes).toString('utf8');
}
