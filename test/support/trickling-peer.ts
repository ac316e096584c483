/**
 * A unix-socket peer that answers every connection by writing `answer` one byte every `everyMs`
 * (for the tests of clients that must give up at a deadline rather than wait while bytes keep
 * arriving). It reads and ignores what the client sends.
 */
import { createServer } from 'node:net';

export interface TricklingPeer {
  /** Stops the trickles and the server. */
  close(): void;
}

export async function startTricklingPeer(
  path: string,
  answer: Buffer,
  everyMs: number,
): Promise<TricklingPeer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((c) => {
    c.on('error', () => undefined);
    c.resume();
    let i = 0;
    const tick = setInterval(() => {
      if (i < answer.length && !c.destroyed) c.write(answer.subarray(i, ++i));
    }, everyMs);
    timers.add(tick);
    c.on('close', () => {
      clearInterval(tick);
      timers.delete(tick);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    close: () => {
      for (const tick of timers) clearInterval(tick);
      server.close();
    },
  };
}
