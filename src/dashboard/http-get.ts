/**
 * One bounded GET for the dashboard's HTTP sources (attestation service, agents' metrics, collateral
 * service): a deadline, a cap on the body, and unix sockets (`unix:/path/to.sock` = GET /metrics
 * there, or `unix:/path/to.sock:/some/path`). Failures become {@link DashboardSourceError}s that
 * name the source and never echo credentials.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { DashboardSourceError } from './errors.ts';

/** Options of {@link getText}. */
export interface GetOptions {
  /** Names the source in errors (e.g. `attestation`, `metrics`). */
  readonly source: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Body cap in bytes (default 8 MiB). */
  readonly maxBytes?: number;
  /** Whole-request deadline in ms (default 10 000). */
  readonly timeoutMs?: number;
}

/** A GET answer: status and body text (the body is read only up to the cap). */
export interface GetAnswer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string | undefined;
}

const unixAgents = new Map<string, Agent>();

/** Splits `unix:/run/x.sock[:/path]` into socket and path; undefined for other URLs. */
export function unixTarget(target: string): { socketPath: string; path: string } | undefined {
  if (!target.startsWith('unix:')) return undefined;
  const rest = target.slice('unix:'.length);
  const colon = rest.indexOf(':/');
  return colon < 0
    ? { socketPath: rest, path: '/metrics' }
    : { socketPath: rest.slice(0, colon), path: rest.slice(colon + 1) };
}

function dispatcherFor(socketPath: string): Dispatcher {
  let agent = unixAgents.get(socketPath);
  if (agent === undefined) {
    agent = new Agent({ connect: { socketPath } });
    unixAgents.set(socketPath, agent);
  }
  return agent;
}

/** Closes the unix-socket agents opened so far (at dashboard shutdown). */
export async function closeUnixAgents(): Promise<void> {
  const agents = [...unixAgents.values()];
  unixAgents.clear();
  await Promise.all(agents.map((a) => a.close()));
}

/** GETs `target` (http(s) URL or unix target) with the bounds of `options`. */
export async function getText(target: string, options: GetOptions): Promise<GetAnswer> {
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const unix = unixTarget(target);
  const url = unix === undefined ? target : `http://localhost${unix.path}`;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: '*/*', ...options.headers },
      signal,
      ...(unix === undefined ? {} : { dispatcher: dispatcherFor(unix.socketPath) }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new DashboardSourceError(`${options.source}: the answer is larger than ${maxBytes} bytes`, {
          source: options.source,
          maxBytes,
        });
      }
      chunks.push(b);
    }
    const ct = res.headers['content-type'];
    return {
      status: res.statusCode,
      text: Buffer.concat(chunks).toString('utf8'),
      contentType: Array.isArray(ct) ? ct[0] : ct,
    };
  } catch (cause) {
    if (cause instanceof DashboardSourceError) throw cause;
    const reason = signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : cause instanceof Error
        ? cause.message
        : String(cause);
    throw new DashboardSourceError(
      `${options.source}: GET ${redact(target)} failed: ${reason}`,
      {
        source: options.source,
      },
      cause,
    );
  }
}

/** A URL without user info or query (for messages). */
export function redact(target: string): string {
  if (target.startsWith('unix:')) return target;
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** GETs and parses JSON, requiring status 200 and a JSON object. */
export async function getJson(target: string, options: GetOptions): Promise<Record<string, unknown>> {
  const a = await getText(target, options);
  if (a.status !== 200)
    throw new DashboardSourceError(`${options.source}: GET ${redact(target)} answered HTTP ${a.status}`, {
      source: options.source,
      status: a.status,
    });
  let v: unknown;
  try {
    v = JSON.parse(a.text);
  } catch (cause) {
    throw new DashboardSourceError(
      `${options.source}: GET ${redact(target)} did not answer JSON`,
      {
        source: options.source,
      },
      cause,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DashboardSourceError(`${options.source}: GET ${redact(target)} did not answer a JSON object`, {
      source: options.source,
    });
  return v as Record<string, unknown>;
}
