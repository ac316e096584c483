/**
 * A PCS/PCCS v4-compatible HTTP endpoint serving the simulated collateral with Intel's paths,
 * parameters, bodies and headers (spec/dcap.md §6), so that a verifier configured with a collateral
 * URL cannot tell it from Intel's PCS or a PCCS by shape. Only the trust anchor differs: everything
 * is signed under the simulated root.
 *
 *   GET /sgx/certification/v4/tcb?fmspc=<12 hex>[&update=standard|early][&tcbEvaluationDataNumber=N]
 *       → TCB Info JSON, `TCB-Info-Issuer-Chain`
 *   GET /sgx/certification/v4/qe/identity[?update=…]
 *       → QE Identity JSON, `SGX-Enclave-Identity-Issuer-Chain`
 *   GET /sgx/certification/v4/pckcrl?ca=processor|platform[&encoding=pem|der]
 *       → PCK CRL (PEM by default), `SGX-PCK-CRL-Issuer-Chain`
 *   GET /sgx/certification/v4/rootcacrl
 *       → Root CA CRL as hex-encoded DER (what a PCCS serves)
 *   GET /sgx/certification/v4/pckcert?encrypted_ppid=…&cpusvn=…&pcesvn=…&pceid=…[&qeid=…]
 *       → PEM PCK certificate, `SGX-PCK-Certificate-Issuer-Chain`, `SGX-TCBm`, `SGX-FMSPC`,
 *         `SGX-PCK-Certificate-CA-Type`. The simulation does not encrypt PPIDs: `encrypted_ppid`
 *         is the platform's 16-byte PPID in hex (or give `qeid`, the QE ID, as a PCCS does).
 *   GET /tdx/certification/v4/tcb?fmspc=<12 hex>[&update=…]
 *       → TDX TCB Info JSON (id TDX, TDX module identities), `TCB-Info-Issuer-Chain`
 *   GET /tdx/certification/v4/qe/identity[?update=…]
 *       → TD_QE Identity JSON, `SGX-Enclave-Identity-Issuer-Chain`
 *
 * Issuer chains are URL-encoded PEM (issuing certificate, then root). Every response carries a
 * `Request-ID`. Bad parameters give 400 with `Error-Code`/`Error-Message` headers as PCS v4 does;
 * an unknown FMSPC or platform gives 404.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  DEFAULT_HTTP_LIMITS,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  type HttpLimits,
} from '../http-limits/index.ts';
import type { SimDcap } from './dcap.ts';
import { SimConfigError } from './errors.ts';
import type { PckCaKind } from './pki.ts';
import type { SimPlatform } from './platform.ts';

/** Path prefix of the SGX certification API v4. */
export const PCS_SGX_V4_PREFIX = '/sgx/certification/v4';

/** Path prefix of the TDX certification API v4. */
export const PCS_TDX_V4_PREFIX = '/tdx/certification/v4';

/** Intel's response header names (API v4). */
export const PCS_HEADERS = {
  tcbInfoIssuerChain: 'TCB-Info-Issuer-Chain',
  enclaveIdentityIssuerChain: 'SGX-Enclave-Identity-Issuer-Chain',
  pckCrlIssuerChain: 'SGX-PCK-CRL-Issuer-Chain',
  pckCertificateIssuerChain: 'SGX-PCK-Certificate-Issuer-Chain',
  tcbm: 'SGX-TCBm',
  fmspc: 'SGX-FMSPC',
  pckCertificateCaType: 'SGX-PCK-Certificate-CA-Type',
  requestId: 'Request-ID',
  errorCode: 'Error-Code',
  errorMessage: 'Error-Message',
} as const;

/** Options of {@link buildSimPcsApp}. */
export interface SimPcsAppOptions {
  /** Clock used as the issue time of served collateral (default: the current time). */
  readonly now?: () => Date;
  /** Connection bounds (src/http-limits; defaults {@link DEFAULT_SIM_PCS_HTTP_LIMITS}). */
  readonly limits?: HttpLimits;
}

/** Defaults of the simulated PCS's connection bounds: the services' defaults, 256 connections. */
export const DEFAULT_SIM_PCS_HTTP_LIMITS: Required<HttpLimits> = {
  ...DEFAULT_HTTP_LIMITS,
  maxConnections: 256,
};

/** Options of {@link startSimPcs}. */
export interface SimPcsOptions extends SimPcsAppOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port (default 0: any free port). */
  readonly port?: number;
}

/** A running simulated PCS. */
export interface SimPcsServer {
  /** Base URL, e.g. `http://127.0.0.1:8081` (append `/sgx/certification/v4/...`). */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

type Query = Readonly<Record<string, string | string[] | undefined>>;

const HEX = (digits: number): RegExp => new RegExp(`^[0-9a-fA-F]{${digits}}$`);

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(400)
    .header(PCS_HEADERS.errorCode, 'InvalidRequestSyntax')
    .header(PCS_HEADERS.errorMessage, message)
    .send();
}

/** The single string value of `name`, undefined when absent; `null` when repeated (invalid). */
function param(query: Query, name: string): string | undefined | null {
  const v = query[name];
  if (Array.isArray(v)) return null;
  return v;
}

/** Checks the optional `update` and `tcbEvaluationDataNumber` parameters; returns an error text. */
function checkUpdateParams(query: Query): string | undefined {
  const update = param(query, 'update');
  if (update === null || (update !== undefined && update !== 'standard' && update !== 'early')) {
    return 'update must be "standard" or "early"';
  }
  const number = param(query, 'tcbEvaluationDataNumber');
  if (number === null || (number !== undefined && !/^\d{1,9}$/.test(number))) {
    return 'tcbEvaluationDataNumber must be a decimal number';
  }
  if (update !== undefined && number !== undefined) {
    return 'update and tcbEvaluationDataNumber are mutually exclusive';
  }
  return undefined;
}

function crlPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN X509 CRL-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END X509 CRL-----\n`;
}

function pcesvnHexLe(svn: number): string {
  return Buffer.from([svn & 0xff, (svn >> 8) & 0xff]).toString('hex');
}

/**
 * The Fastify application (not listening); use `app.inject` in tests or {@link startSimPcs}.
 * Asynchronous because Fastify is loaded on first use: importing the sim module (as `container run`
 * does for the simulated enclave) does not pay for a web framework it never starts.
 */
export async function buildSimPcsApp(
  dcap: SimDcap,
  options: SimPcsAppOptions = {},
): Promise<FastifyInstance> {
  // Slow and idle clients are bounded as at every ccnodes server (Fastify alone sets no request
  // timeout, and Node checks header deadlines only every 30 s).
  const limits = resolveHttpLimits(
    options.limits,
    DEFAULT_SIM_PCS_HTTP_LIMITS,
    (p) =>
      new SimConfigError('ERR_SIM_PCS_CONFIG', `simulated PCS: ${p.message}`, { field: `limits.${p.field}` }),
  );
  const { default: Fastify } = await import('fastify');
  const now = options.now ?? ((): Date => new Date());
  const app = Fastify({ logger: false, ...fastifyOptions(limits) });
  limitServer(app.server, limits);

  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(PCS_HEADERS.requestId, randomBytes(16).toString('hex'));
    done();
  });

  // TCB Info and QE Identity: the same routes, parameters and headers for SGX and TDX.
  const tees = [
    {
      prefix: PCS_SGX_V4_PREFIX,
      tcbInfo: (fmspc: string, at: Date) => dcap.tcbInfo(fmspc, { now: at }),
      qeIdentity: (at: Date) => dcap.qeIdentity({ now: at }),
    },
    {
      prefix: PCS_TDX_V4_PREFIX,
      tcbInfo: (fmspc: string, at: Date) => dcap.tdxTcbInfo(fmspc, { now: at }),
      qeIdentity: (at: Date) => dcap.tdQeIdentity({ now: at }),
    },
  ];
  for (const tee of tees) {
    app.get(`${tee.prefix}/tcb`, (request, reply) => {
      const query = request.query as Query;
      const fmspc = param(query, 'fmspc');
      if (fmspc === undefined || fmspc === null || !HEX(12).test(fmspc)) {
        return badRequest(reply, 'fmspc must be 12 hex digits');
      }
      const invalid = checkUpdateParams(query);
      if (invalid !== undefined) return badRequest(reply, invalid);
      const body = tee.tcbInfo(fmspc, now());
      if (body === undefined) return reply.code(404).send();
      return reply
        .header(PCS_HEADERS.tcbInfoIssuerChain, encodeURIComponent(dcap.pki.tcbIssuerChainPem()))
        .type('application/json')
        .send(body);
    });

    app.get(`${tee.prefix}/qe/identity`, (request, reply) => {
      const invalid = checkUpdateParams(request.query as Query);
      if (invalid !== undefined) return badRequest(reply, invalid);
      return reply
        .header(PCS_HEADERS.enclaveIdentityIssuerChain, encodeURIComponent(dcap.pki.tcbIssuerChainPem()))
        .type('application/json')
        .send(tee.qeIdentity(now()));
    });
  }

  app.get(`${PCS_SGX_V4_PREFIX}/pckcrl`, (request, reply) => {
    const query = request.query as Query;
    const ca = param(query, 'ca');
    if (ca !== 'processor' && ca !== 'platform') {
      return badRequest(reply, 'ca must be "processor" or "platform"');
    }
    const encoding = param(query, 'encoding') ?? 'pem';
    if (encoding !== 'pem' && encoding !== 'der') {
      return badRequest(reply, 'encoding must be "pem" or "der"');
    }
    const der = dcap.pckCrl(ca, { now: now() });
    reply.header(PCS_HEADERS.pckCrlIssuerChain, encodeURIComponent(dcap.pki.pckIssuerChainPem(ca)));
    return encoding === 'der'
      ? reply.type('application/pkix-crl').send(Buffer.from(der))
      : reply.type('application/x-pem-file').send(crlPem(der));
  });

  app.get(`${PCS_SGX_V4_PREFIX}/rootcacrl`, (_request, reply) => {
    return reply.type('text/plain').send(Buffer.from(dcap.rootCaCrl({ now: now() })).toString('hex'));
  });

  app.get(`${PCS_SGX_V4_PREFIX}/pckcert`, (request, reply) => {
    const query = request.query as Query;
    const ppid = param(query, 'encrypted_ppid');
    const qeid = param(query, 'qeid');
    const cpusvn = param(query, 'cpusvn');
    const pcesvn = param(query, 'pcesvn');
    const pceid = param(query, 'pceid');
    if (cpusvn === undefined || cpusvn === null || !HEX(32).test(cpusvn)) {
      return badRequest(reply, 'cpusvn must be 32 hex digits');
    }
    if (pcesvn === undefined || pcesvn === null || !HEX(4).test(pcesvn)) {
      return badRequest(reply, 'pcesvn must be 4 hex digits (little-endian)');
    }
    if (pceid === undefined || pceid === null || !HEX(4).test(pceid)) {
      return badRequest(reply, 'pceid must be 4 hex digits');
    }
    if (ppid === null || qeid === null || (ppid === undefined && qeid === undefined)) {
      return badRequest(reply, 'encrypted_ppid (or qeid) is required');
    }
    if (ppid !== undefined && !HEX(32).test(ppid)) {
      return badRequest(reply, 'encrypted_ppid: the simulation takes the 16-byte PPID in hex (32 digits)');
    }
    if (qeid !== undefined && !HEX(32).test(qeid)) return badRequest(reply, 'qeid must be 32 hex digits');
    const platform = findPlatform(dcap, ppid, qeid);
    if (platform === undefined || platform.config.pceId.toLowerCase() !== pceid.toLowerCase()) {
      return reply.code(404).send();
    }
    const ca: PckCaKind = platform.config.ca;
    const tcbm = Buffer.from(platform.cpuSvn).toString('hex') + pcesvnHexLe(platform.config.pceSvn);
    return reply
      .header(PCS_HEADERS.pckCertificateIssuerChain, encodeURIComponent(dcap.pki.pckIssuerChainPem(ca)))
      .header(PCS_HEADERS.tcbm, tcbm.toUpperCase())
      .header(PCS_HEADERS.fmspc, platform.config.fmspc.toUpperCase())
      .header(PCS_HEADERS.pckCertificateCaType, ca)
      .type('application/x-pem-file')
      .send(platform.pck.pem);
  });

  return app;
}

function findPlatform(
  dcap: SimDcap,
  ppid: string | undefined,
  qeid: string | undefined,
): SimPlatform | undefined {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return dcap.platforms.find((p) =>
    ppid !== undefined ? hex(p.ppid) === ppid.toLowerCase() : hex(p.qeId) === qeid?.toLowerCase(),
  );
}

/** Starts the simulated PCS on `host:port` (default 127.0.0.1, any free port). */
export async function startSimPcs(dcap: SimDcap, options: SimPcsOptions = {}): Promise<SimPcsServer> {
  const app = await buildSimPcsApp(dcap, options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${port}`, app, close: () => app.close() };
}
