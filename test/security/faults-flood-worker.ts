/**
 * The hostile side of the quote-helper flood scenario, run as its own process (forked by
 * faults-quote-helper.ts) so that its CPU is not charged to the good clients. On `{cmd:"start"}` it
 * opens `holders` connections to the AESM socket and keeps them open (half send nothing, half send
 * two bytes of a length prefix and stall; a connection the daemon closes is opened again), and
 * sends malformed frames at `rate` frames per second, each on a new connection, cycling through:
 * a declared length above the cap, a zero length, a body that is not a protobuf Request, a body
 * that stops short of its declared length. On `{cmd:"stop"}` it closes everything and reports
 * `{frames, seconds, holdersOpen, reconnects, cpuMs}`.
 */
import { connect, type Socket } from 'node:net';

interface Start {
  cmd: 'start';
  socket: string;
  holders: number;
  rate: number;
}
type Msg = Start | { cmd: 'stop' } | { cmd: 'exit' };

function malformed(i: number): Buffer {
  switch (i % 4) {
    case 0: {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(0xffffffff, 0);
      return b;
    }
    case 1:
      return Buffer.alloc(4);
    case 2: {
      // Declared 16 bytes of 0xff: field numbers and wire types that decode to nothing valid.
      const b = Buffer.alloc(20, 0xff);
      b.writeUInt32LE(16, 0);
      return b;
    }
    default: {
      const b = Buffer.alloc(8, 0x0a);
      b.writeUInt32LE(64, 0);
      return b;
    }
  }
}

let running = false;
let frames = 0;
let reconnects = 0;
let startedAt = 0;
const held = new Set<Socket>();
let timer: NodeJS.Timeout | undefined;

function hold(path: string, i: number): void {
  if (!running) return;
  const s = connect({ path });
  held.add(s);
  s.on('connect', () => {
    if (i % 2 === 1) s.write(Buffer.from([0x10, 0x00]));
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    held.delete(s);
    if (running) {
      reconnects += 1;
      setTimeout(() => {
        hold(path, i);
      }, 100);
    }
  });
}

function flood(path: string, rate: number): void {
  // Ticks of 10 ms, each sending the frames due by then (a token bucket without burst).
  let sent = 0;
  const t0 = performance.now();
  timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due && running) {
      const s = connect({ path });
      const frame = malformed(sent);
      s.on('connect', () => {
        s.end(frame);
      });
      s.on('error', () => undefined);
      s.on('close', () => s.destroy());
      sent += 1;
      frames += 1;
    }
  }, 10);
}

process.on('message', (m: Msg) => {
  if (m.cmd === 'start') {
    running = true;
    frames = 0;
    reconnects = 0;
    startedAt = performance.now();
    for (let i = 0; i < m.holders; i++) hold(m.socket, i);
    flood(m.socket, m.rate);
    process.send?.({ started: true });
  } else if (m.cmd === 'stop') {
    const seconds = (performance.now() - startedAt) / 1000;
    const holdersOpen = held.size;
    running = false;
    if (timer !== undefined) clearInterval(timer);
    for (const s of held) s.destroy();
    held.clear();
    const u = process.cpuUsage();
    process.send?.({ frames, seconds, holdersOpen, reconnects, cpuMs: (u.user + u.system) / 1000 });
  } else {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
