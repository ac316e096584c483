/** pino loggers for the quote helper that write through a caller-supplied sink (CLI context, tests). */
import { pino, type Logger, type LevelWithSilent } from 'pino';

/** A JSON-lines logger writing each line to `write`. */
export function createLogger(write: (line: string) => void, level: LevelWithSilent = 'info'): Logger {
  return pino({ name: 'ccnodes-quote-helper', level }, { write });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
