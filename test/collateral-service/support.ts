/**
 * Test support for the collateral service: a seeded simulated PCS as upstream, an upstream `fetch`
 * that can rewrite what the upstream answers (to play a tampering network or a compromised
 * upstream), and a started service in a temp data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startCollateralService,
  type CollateralServer,
  type CollateralServerConfig,
} from '../../src/collateral-service/index.ts';
import { createSimDcap, startSimPcs, type SimDcap, type SimPcsServer } from '../../src/sim/index.ts';

/** The deployment the collateral-service tests share (seeded: same keys every run). */
export const dcap: SimDcap = createSimDcap({ seed: 'collateral-service-tests' });

/** A second deployment (other keys, other root): its artefacts must never verify under {@link dcap}'s root. */
export const otherDcap: SimDcap = createSimDcap({ seed: 'collateral-service-tests-other-root' });

/** One upstream answer that a rewrite may change. */
export interface UpstreamAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Rewrites an answer to the request `url` (path and query only), or returns it unchanged. */
export type Rewrite = (path: string, answer: UpstreamAnswer) => UpstreamAnswer | Promise<UpstreamAnswer>;

/** A fetch that sends requests on unchanged, logs them and lets `rewrite()` change the answers. */
export function tamperingFetch(): {
  fetch: typeof fetch;
  log: { url: string; headers: Headers }[];
  rewrite: { current: Rewrite | undefined };
} {
  const log: { url: string; headers: Headers }[] = [];
  const rewrite: { current: Rewrite | undefined } = { current: undefined };
  const wrapped: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    log.push({ url, headers: new Headers(init?.headers) });
    const res = await fetch(input, init);
    const answer = {
      status: res.status,
      headers: new Headers(res.headers),
      body: new Uint8Array(await res.arrayBuffer()),
    };
    const path = new URL(url).pathname + new URL(url).search;
    const out = rewrite.current === undefined ? answer : await rewrite.current(path, answer);
    return new Response(out.status === 204 || out.status === 304 ? null : Buffer.from(out.body), {
      status: out.status,
      headers: out.headers,
    });
  };
  return { fetch: wrapped, log, rewrite };
}

/** Config overrides; `undefined` removes a default (e.g. `trustSimulatedRoot`, `upstream`). */
export type Overrides = { [K in keyof CollateralServerConfig]?: CollateralServerConfig[K] | undefined };

/** A simulated PCS plus a collateral service in front of it, in a temp data dir. */
export interface Stack {
  readonly pcs: SimPcsServer;
  readonly dataDir: string;
  readonly upstream: ReturnType<typeof tamperingFetch>;
  service: CollateralServer;
  /** Restarts the collateral service on the same data directory (other options may change). */
  restart(overrides?: Overrides): Promise<CollateralServer>;
  close(): Promise<void>;
}

/** Starts `sim pcs` (in process) and the collateral service (LAZY by default) in front of it. */
export async function startStack(overrides: Overrides = {}): Promise<Stack> {
  const pcs = await startSimPcs(dcap);
  const dataDir = join(mkdtempSync(join(tmpdir(), 'ccnodes-collateral-')), 'data');
  const upstream = tamperingFetch();
  const config = (o: Overrides): CollateralServerConfig =>
    ({
      mode: 'lazy',
      upstream: { baseUrl: pcs.url, retries: 0 },
      dataDir,
      trustSimulatedRoot: dcap.rootPem,
      refreshIntervalMs: 0,
      fetch: upstream.fetch,
      ...o,
    }) as CollateralServerConfig;
  const stack: Stack = {
    pcs,
    dataDir,
    upstream,
    service: await startCollateralService(config(overrides)),
    restart: async (o = {}) => {
      await stack.service.close();
      stack.service = await startCollateralService(config({ ...overrides, ...o }));
      return stack.service;
    },
    close: async () => {
      await stack.service.close();
      await pcs.close();
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
  return stack;
}

/** GET on the service: status, headers and body bytes. */
export async function get(
  base: string,
  path: string,
): Promise<{ status: number; headers: Headers; body: Buffer; text: string }> {
  const res = await fetch(`${base}${path}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
}
