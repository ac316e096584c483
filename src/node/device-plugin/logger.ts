/**
 * The logging seam of the device plugin: the subset of pino's API the daemon uses. The CLI passes a
 * pino logger; tests pass {@link silentLogger} or a recorder.
 */
export interface PluginLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const noop = (): void => undefined;

/** A logger that drops everything. */
export const silentLogger: PluginLogger = { debug: noop, info: noop, warn: noop, error: noop };
