/**
 * A stand-in for Intel's two collateral hosts, serving exactly what Intel serves (spec/dcap.md §6)
 * and nothing else, from real response bodies:
 *
 * - `api` (api.trustedservices.intel.com): `GET /sgx|tdx/certification/v4/tcb?fmspc=`,
 *   `GET /sgx|tdx/certification/v4/qe/identity`, `GET /sgx/certification/v4/pckcrl?ca=&encoding=`,
 *   with the URL-encoded issuer chains in `TCB-Info-Issuer-Chain` (or the v3 spelling
 *   `SGX-TCB-Info-Issuer-Chain`), `SGX-Enclave-Identity-Issuer-Chain`, `SGX-PCK-CRL-Issuer-Chain`,
 *   a `Request-ID` on every response, 400 with `Error-Code`/`Error-Message` for bad parameters and
 *   404 for an FMSPC or CA it has no data for. There is no `/rootcacrl` here (Intel has none).
 * - `certs` (certificates.trustedservices.intel.com): `GET /IntelSGXRootCA.der`, the Root CA CRL in
 *   DER, the CRL distribution point named in Intel's root certificate.
 *
 * Every other path, method or host answers 404, so a client that doubles the API prefix, asks a
 * PCS for a PCCS-only route or mixes up SGX and TDX fails. Every request is logged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crlDer, type RawCollateral } from '../../src/core/index.ts';

export const INTEL_API_ORIGIN = 'https://api.trustedservices.intel.com';
export const INTEL_CERTS_ORIGIN = 'https://certificates.trustedservices.intel.com';

/** What the server holds: one real collateral set. */
export interface IntelPcsData {
  readonly collateral: RawCollateral;
  /** Which API the TCB Info and QE Identity belong to. */
  readonly tee: 'sgx' | 'tdx';
  /** FMSPC of the TCB Info (any case). */
  readonly fmspc: string;
  /** CA of the PCK CRL. */
  readonly ca: 'processor' | 'platform';
  /** Send the TCB Info chain under the API v3 name `SGX-TCB-Info-Issuer-Chain`. */
  readonly v3TcbHeader?: boolean;
}

export interface LoggedRequest {
  readonly host: 'api' | 'certs';
  readonly method: string;
  readonly url: string;
  readonly status: number;
}

export interface IntelPcs {
  /** `http://127.0.0.1:<port>` of the api host. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:<port>` of the certificates host. */
  readonly certsUrl: string;
  readonly log: LoggedRequest[];
  /** A fetch that sends Intel's two origins to these servers (and everything else unchanged). */
  readonly fetch: typeof fetch;
  close(): Promise<void>;
}

function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => true): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const url = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

/** Starts both hosts on loopback, port 0. */
export async function startIntelPcs(data: IntelPcsData): Promise<IntelPcs> {
  const log: LoggedRequest[] = [];
  let requestNo = 0;
  const c = data.collateral;
  const pckDer = crlDer(c.pckCrl);
  const rootDer = crlDer(c.rootCaCrl);

  const send = (
    host: 'api' | 'certs',
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string> = {},
    body: string | Uint8Array = '',
  ): true => {
    requestNo += 1;
    // Deterministic request ids, in the shape of Intel's (32 hex digits).
    const requestId = requestNo.toString(16).padStart(32, '0');
    log.push({ host, method: req.method ?? '', url: req.url ?? '', status });
    res.writeHead(status, { 'Request-ID': requestId, ...headers });
    res.end(body);
    return true;
  };
  const badRequest = (req: IncomingMessage, res: ServerResponse, message: string): true =>
    send('api', req, res, 400, { 'Error-Code': 'InvalidRequestSyntax', 'Error-Message': message });

  const api = await listen((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const q = u.searchParams;
    const route = /^\/(sgx|tdx)\/certification\/v4\/(tcb|qe\/identity|pckcrl)$/.exec(u.pathname);
    if (req.method !== 'GET' || route === null) return send('api', req, res, 404);
    const [, tee, what] = route;
    if (what === 'tcb') {
      const fmspc = q.get('fmspc');
      if (fmspc === null || !/^[0-9a-fA-F]{12}$/.test(fmspc))
        return badRequest(req, res, 'fmspc must be 12 hex digits');
      if (tee !== data.tee || fmspc.toLowerCase() !== data.fmspc.toLowerCase())
        return send('api', req, res, 404);
      const name = data.v3TcbHeader === true ? 'SGX-TCB-Info-Issuer-Chain' : 'TCB-Info-Issuer-Chain';
      return send(
        'api',
        req,
        res,
        200,
        { [name]: encodeURIComponent(c.tcbInfoIssuerChain), 'Content-Type': 'application/json' },
        c.tcbInfo,
      );
    }
    if (what === 'qe/identity') {
      if (tee !== data.tee) return send('api', req, res, 404);
      return send(
        'api',
        req,
        res,
        200,
        {
          'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(c.qeIdentityIssuerChain),
          'Content-Type': 'application/json',
        },
        c.qeIdentity,
      );
    }
    // pckcrl: SGX API only.
    if (tee !== 'sgx') return send('api', req, res, 404);
    const ca = q.get('ca');
    if (ca !== 'processor' && ca !== 'platform')
      return badRequest(req, res, 'ca must be processor or platform');
    const encoding = q.get('encoding') ?? 'pem';
    if (encoding !== 'pem' && encoding !== 'der') return badRequest(req, res, 'encoding must be pem or der');
    if (ca !== data.ca) return send('api', req, res, 404);
    return send(
      'api',
      req,
      res,
      200,
      {
        'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(c.pckCrlIssuerChain),
        'Content-Type': encoding === 'der' ? 'application/pkix-crl' : 'application/x-pem-file',
      },
      encoding === 'der' ? pckDer : pem(pckDer),
    );
  });
  const certs = await listen((req, res) => {
    if (req.method === 'GET' && req.url === '/IntelSGXRootCA.der')
      return send('certs', req, res, 200, { 'Content-Type': 'application/pkix-crl' }, rootDer);
    return send('certs', req, res, 404);
  });

  const apiUrl = url(api);
  const certsUrl = url(certs);
  const routed: typeof fetch = (input, init) => {
    const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const rewritten = target.startsWith(`${INTEL_API_ORIGIN}/`)
      ? apiUrl + target.slice(INTEL_API_ORIGIN.length)
      : target.startsWith(`${INTEL_CERTS_ORIGIN}/`)
        ? certsUrl + target.slice(INTEL_CERTS_ORIGIN.length)
        : target;
    return fetch(rewritten, init);
  };
  const close = (s: Server): Promise<void> =>
    new Promise((resolve) => {
      s.closeAllConnections();
      s.close(() => {
        resolve();
      });
    });
  return {
    apiUrl,
    certsUrl,
    log,
    fetch: routed,
    close: async () => {
      await Promise.all([close(api), close(certs)]);
    },
  };
}
