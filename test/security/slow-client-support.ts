/**
 * Support for the slow-client regression tests (issue 12, item 7 and its follow-ups for the
 * webhook, the quote helper's JSON API and the device plugin's metrics endpoint): a raw client
 * that sends its request a byte at a time, a wait (and assertion) for the server to close the
 * connection, and a plain request over a raw connection.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
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

/** Ignores `socket`'s errors (the server is expected to cut it off) and resolves with it once `event` fired. */
export async function opened<S extends Duplex>(socket: S, event = 'connect'): Promise<S> {
  socket.on('error', () => undefined);
  await once(socket, event);
  return socket;
}

export interface Trickled {
  /** Sent at once before the trickle (e.g. complete headers announcing a long body). */
  readonly head?: string;
  /** Trickled one byte every `everyMs`. */
  readonly text: string;
  readonly everyMs: number;
  /** The connection must be closed sooner than this many ms after the first byte. */
  readonly limitMs: number;
  /** Stop waiting for the close after this many ms. */
  readonly giveUpMs: number;
}

/**
 * Sends `head`, then trickles `text` on `socket`, and asserts the server closes the connection
 * within `limitMs`; destroys the socket in any case. Resolves with the ms it took.
 */
export async function expectCutOff(socket: Duplex, t: Trickled): Promise<number> {
  const started = performance.now();
  if (t.head !== undefined) socket.write(t.head);
  const stop = trickle(socket, t.text, t.everyMs);
  try {
    const ms = await closedWithin(socket, started, t.giveUpMs);
    assert.notEqual(ms, undefined, `still open after ${t.giveUpMs} ms`);
    assert.ok((ms ?? 0) < t.limitMs, `closed after ${ms?.toFixed(0)} ms`);
    return ms ?? 0;
  } finally {
    stop();
    socket.destroy();
  }
}

/** Sends `GET <path>` with `Connection: close` on `socket` and resolves with all it got back. */
export async function getOverSocket(socket: Duplex, path: string): Promise<string> {
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  await once(socket, 'end');
  return text;
}

/**
 * Opens `max` connections to the plain-HTTP server on 127.0.0.1:`port`, then one more, and asserts
 * the extra one is closed within 3 s while the first still gets an answer to `GET <path>` (200).
 */
export async function expectConnectionCap(port: number, max: number, path: string): Promise<void> {
  const open: Socket[] = [];
  try {
    for (let i = 0; i < max; i += 1) open.push(await opened(connect(port, '127.0.0.1')));
    await new Promise((r) => setTimeout(r, 100));
    const extra = connect(port, '127.0.0.1');
    extra.on('error', () => undefined);
    open.push(extra);
    const ms = await closedWithin(extra, performance.now(), 3000);
    assert.notEqual(ms, undefined, 'the extra connection was kept open');
    assert.match(await getOverSocket(open[0] as Socket, path), /^HTTP\/1\.1 200 /);
  } finally {
    for (const c of open) c.destroy();
  }
}
