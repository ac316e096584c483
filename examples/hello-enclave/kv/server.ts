/**
 * The tutorial's key-value service over RA-TLS (docs/tutorial-enclave.md, §6–7).
 *
 *   node --import tsx examples/hello-enclave/kv/server.ts <data-dir> [--port 8443]
 *
 * The enclave makes the TLS key and the quote that binds it (ECALL `tlsKey`); the host wraps them in
 * a self-signed RA-TLS certificate (`ego` format: EGo / Open Enclave / MarbleRun) and serves
 *
 *   GET /kv/<key>   → 200 and the value, or 404
 *   PUT /kv/<key>   → 204 (body: the value, at most 4096 bytes)
 *
 * over HTTPS with it. The store stays sealed in `<data-dir>/kv.sealed`. The program also writes
 * what a client needs to verify the simulated quote: `<data-dir>/collateral.json` and
 * `<data-dir>/sim-root.pem` (public data).
 *
 * Simulation: the TLS private key is handed from the enclave to Node's TLS stack in this process
 * (Node cannot delegate the handshake's signature to the enclave). The identity binding and the
 * client's checks are the real ones; the key's confidentiality from the host is not.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BasicConstraintsExtension,
  cryptoProvider,
  Extension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { EnclaveInterfaceError, type EnclaveImage, type SimDcap } from 'ccnodes/enclave';
import { createRatlsHttpsServer, extensionOid, extensionValue } from 'ccnodes/ratls';
import { serializeCollateralBundle } from 'ccnodes/verify';
import { MAX_VALUE_BYTES } from './interface.ts';
import { openKv, tutorialDcap } from './host.ts';

cryptoProvider.set(webcrypto);

/** Options of {@link startKvService}. */
export interface KvServiceOptions {
  /** The simulated platform's secrets and the sealed store. */
  readonly dataDir: string;
  /** The simulated DCAP that quotes (default: the tutorial's, fixed seed). */
  readonly dcap?: SimDcap;
  /** Another build of the enclave (tests: a modified enclave). */
  readonly definition?: string | EnclaveImage;
  readonly host?: string;
  readonly port?: number;
  /** Told about every HTTP request that reached the service (after the TLS handshake). */
  readonly onRequest?: (method: string, path: string) => void;
}

/** A running service. */
export interface KvService {
  readonly url: string;
  /** MRENCLAVE of the running enclave (hex): what the certificate's quote carries. */
  readonly mrEnclave: string;
  /** The RA-TLS certificate the service presents (PEM). */
  readonly certificatePem: string;
  /** Stops the HTTPS server and the enclave. */
  close(): Promise<void>;
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/**
 * The RA-TLS certificate for the enclave's key: self-signed with that key, carrying the enclave's
 * quote in the `ego` extension (1.3.6.1.4.1.311.105.1: Open Enclave report header + quote).
 */
async function ratlsCertificate(
  spki: Uint8Array,
  privateKey: Uint8Array,
  quote: Uint8Array,
): Promise<{ certPem: string; keyPem: string }> {
  // spki is the 26-byte DER prefix, 0x04, X (32 bytes), Y (32 bytes).
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: b64url(spki.subarray(27, 59)),
    y: b64url(spki.subarray(59, 91)),
    d: b64url(privateKey),
  };
  const subtle = webcrypto.subtle;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = {
    privateKey: await subtle.importKey('jwk', jwk, algorithm, false, ['sign']),
    publicKey: await subtle.importKey('spki', spki, algorithm, true, ['verify']),
  };
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=ccnodes tutorial kv,O=ccnodes',
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 30 * 86_400_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new BasicConstraintsExtension(false),
      new Extension(extensionOid('ego'), false, extensionValue('ego', quote, spki)),
    ],
  });
  const keyPem = createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' });
  return { certPem: cert.toString('pem'), keyPem: String(keyPem) };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** Starts the enclave, makes its RA-TLS certificate and serves the store over HTTPS. */
export async function startKvService(options: KvServiceOptions): Promise<KvService> {
  const kv = await openKv(options.dataDir, {
    ...(options.dcap === undefined ? {} : { dcap: options.dcap }),
    ...(options.definition === undefined ? {} : { definition: options.definition }),
  });
  let server: ReturnType<typeof createRatlsHttpsServer>;
  let certPem: string;
  try {
    const { spki, quote, privateKey } = await kv.ecalls.tlsKey();
    const made = await ratlsCertificate(spki, privateKey, quote);
    certPem = made.certPem;
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      options.onRequest?.(req.method ?? '', req.url ?? '');
      const match = /^\/kv\/([^/?]+)$/.exec(req.url ?? '');
      if (match === null || match[1] === undefined) {
        res.writeHead(404).end('no such resource\n');
        return;
      }
      let key: string;
      try {
        key = decodeURIComponent(match[1]);
      } catch {
        res.writeHead(400).end('key: bad percent-encoding\n');
        return;
      }
      if (req.method === 'GET') {
        const value = await kv.ecalls.get(key);
        if (value === null) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(value);
      } else if (req.method === 'PUT') {
        const value = await readBody(req, MAX_VALUE_BYTES);
        if (value === undefined) {
          res.writeHead(413).end(`value: more than ${MAX_VALUE_BYTES} bytes\n`);
          return;
        }
        await kv.ecalls.put(key, value);
        res.writeHead(204).end();
      } else {
        res.writeHead(405, { allow: 'GET, PUT' }).end();
      }
    };
    server = createRatlsHttpsServer({ key: made.keyPem, cert: made.certPem }, (req, res) => {
      handle(req, res).catch((err: unknown) => {
        // The typed interface refuses bad input (e.g. a 65-byte key) before the enclave sees it.
        const status = err instanceof EnclaveInterfaceError ? 400 : 500;
        if (!res.headersSent) res.writeHead(status);
        const code = (err as { code?: unknown }).code;
        res.end(
          `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`,
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
    });
  } catch (err) {
    await kv.terminate();
    throw err;
  }
  const address = server.address() as AddressInfo;
  return {
    url: `https://${address.address}:${address.port}`,
    mrEnclave: Buffer.from(kv.running.enclave.mrEnclave).toString('hex'),
    certificatePem: certPem,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await kv.terminate();
    },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const dataDir = positionals[0];
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (
    dataDir === undefined ||
    positionals.length !== 1 ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535
  ) {
    process.stderr.write('usage: server.ts <data-dir> [--port N] [--host ADDR]\n');
    process.exit(2);
  }
  const dcap = tutorialDcap();
  const service = await startKvService({
    dataDir,
    dcap,
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
  });
  // What a client needs to verify the simulated quote (public data, normally from a PCCS and Intel).
  const collateral = dcap.collateral(dcap.platform('up-to-date'));
  await writeFile(join(dataDir, 'collateral.json'), `${serializeCollateralBundle(collateral)}\n`);
  await writeFile(join(dataDir, 'sim-root.pem'), dcap.rootPem);
  await writeFile(join(dataDir, 'server-cert.pem'), service.certificatePem);
  process.stdout.write(`serving ${service.url} (MRENCLAVE ${service.mrEnclave})\n`);
  const stop = (): void => {
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
