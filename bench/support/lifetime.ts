/**
 * How a bench's helper process ends: on SIGTERM/SIGINT, or when its stdin closes (the bench ended,
 * however it ended), after `close` — so that it never outlives the bench.
 */
export function endWithParent(close: () => Promise<void>): void {
  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.stdin.on('end', () => void shutdown());
  process.stdin.on('error', () => void shutdown());
  process.stdin.resume();
}
