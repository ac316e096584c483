/**
 * Support for the slow-client regression tests (issue 12, item 7 and its follow-ups for the
 * webhook, the quote helper's JSON API and the device plugin's metrics endpoint): a raw client
 * that sends its request a byte at a time, and a wait for the server to close the connection.
 */
import type { Duplex } from 'node:stream';

/**
 * Resolves with the ms from `startedAt` until `socket` closed, or `undefined` if it is still open
 * after `giveUpMs` (the caller then destroys it).
 */
export function closedWithin(
  socket: Duplex,
  startedAt: number,
  giveUpMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(performance.now() - startedAt);
      return;
    }
    const timer = setTimeout(() => {
      resolve(undefined);
    }, giveUpMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - startedAt);
    });
  });
}

/**
 * Writes `text` to `socket` one byte every `everyMs` (then keeps sending spaces, so the client
 * never goes quiet); returns a function that stops it.
 */
export function trickle(socket: Duplex, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return;
    socket.write(i < text.length ? text.charAt(i) : ' ');
    i += 1;
  }, everyMs);
  return () => {
    clearInterval(timer);
  };
}

/** Resolves once `socket` emitted `event` (e.g. 'connect' or 'secureConnect'). */
export function once(socket: Duplex, event: string): Promise<void> {
  return new Promise((resolve) => {
    socket.once(event, () => {
      resolve();
    });
  });
}
