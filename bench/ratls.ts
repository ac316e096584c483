/**
 * `npm run bench -- ratls`: TLS handshakes per second over 127.0.0.1, RA-TLS with full
 * verification of the server's certificate (self-signature, key binding, DCAP quote against
 * prepared collateral, MRENCLAVE pin) next to plain TLS (the same kind of ECDSA P-256 self-signed
 * certificate, pinned with `ca`, Node's own chain check), in the same process and run, interleaved
 * rounds. Server and client share one process (and so one core). Every handshake is a full one (no
 * session reuse); the client destroys the socket as soon as it is verified. The quote comes from
 * the simulated platform (same verification work as a real quote: 3 PCK chain certificates, CRLs,
 * TCB Info, QE Identity, 2 ECDSA quote signatures). As a server presents the same certificate on
 * every handshake, the verifier keeps the parse and self-signature result per certificate bytes;
 * the key binding, the validity check, the quote verification (core's warm path: collateral
 * prepared once) and the identity check run on every handshake. The last line is the JSON summary.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { BasicConstraintsExtension, X509CertificateGenerator, cryptoProvider } from '@peculiar/x509';
import { prepareCollateral } from '../src/core/index.ts';
import {
  connectRatls,
  createRatlsCertificate,
  createRatlsServer,
  createRatlsVerifier,
  simulatedQuoter,
} from '../src/ratls/index.ts';
import { SimDcap, simPlatformPreset } from '../src/sim/index.ts';
import { loadRecorder } from './support/load.ts';

cryptoProvider.set(webcrypto);
const load = loadRecorder();
const ROUNDS = 5;
const ROUND_MS = 1500;
const MRENCLAVE = 'a1'.repeat(32);

const now = new Date();
const dcap = SimDcap.create({ seed: 'bench-ratls', platforms: [simPlatformPreset('up-to-date').config] });
const platform = dcap.platform('up-to-date');
const collateral = prepareCollateral(dcap.collateral(platform, { now }));
const ratlsCert = await createRatlsCertificate({
  format: 'ego',
  quoter: simulatedQuoter(platform, { mrEnclave: Buffer.from(MRENCLAVE, 'hex') }),
});
const verifier = createRatlsVerifier({
  collateral,
  trustSimulatedRoot: dcap.rootPem,
  expected: { mrEnclave: MRENCLAVE },
});

// Plain TLS: an ordinary self-signed P-256 certificate for 127.0.0.1, pinned as the client's CA.
const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
  'sign',
  'verify',
]);
const plain = await X509CertificateGenerator.createSelfSigned({
  serialNumber: '01',
  name: 'CN=127.0.0.1',
  notBefore: new Date(now.getTime() - 3_600_000),
  notAfter: new Date(now.getTime() + 86_400_000),
  keys,
  signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  extensions: [new BasicConstraintsExtension(true)],
});
const plainCertPem = plain.toString('pem');
const plainKeyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64')}\n-----END PRIVATE KEY-----\n`;

const ratlsServer = createRatlsServer({ key: ratlsCert.keyPem, cert: ratlsCert.pem }, (s) => s.destroy());
const plainServer = tls.createServer({ key: plainKeyPem, cert: plainCertPem }, (s) => s.destroy());
for (const s of [ratlsServer, plainServer]) {
  s.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
}
const ratlsPort = (ratlsServer.address() as AddressInfo).port;
const plainPort = (plainServer.address() as AddressInfo).port;

async function ratlsOnce(): Promise<void> {
  const socket = await connectRatls({ host: '127.0.0.1', port: ratlsPort, verifier });
  socket.destroy();
}

function plainOnce(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: plainPort, ca: plainCertPem, checkServerIdentity: () => undefined },
      () => {
        if (!socket.authorized)
          reject(new Error(`plain TLS not authorized: ${String(socket.authorizationError)}`));
        socket.destroy();
        resolve();
      },
    );
    socket.on('error', reject);
  });
}

async function rate(once: () => Promise<void>, ms: number): Promise<{ n: number; ms: number }> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await once();
    n += 1;
  }
  return { n, ms: performance.now() - start };
}

// Warm up both paths (and check both work).
await rate(ratlsOnce, 300);
await rate(plainOnce, 300);
const totals = { ratls: { n: 0, ms: 0 }, plain: { n: 0, ms: 0 } };
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, once] of [
    ['ratls', ratlsOnce],
    ['plain', plainOnce],
  ] as const) {
    const r = await rate(once, ROUND_MS);
    totals[name].n += r.n;
    totals[name].ms += r.ms;
  }
}
ratlsServer.close();
plainServer.close();

const ratls = (1000 * totals.ratls.n) / totals.ratls.ms;
const plainRate = (1000 * totals.plain.n) / totals.plain.ms;
const ratio = Number((ratls / plainRate).toFixed(3));
const loadavg = load.summary();
process.stdout.write(
  `TLS handshakes/s over 127.0.0.1, client and server in one process (${ROUNDS} interleaved rounds of ${ROUND_MS} ms, ` +
    `load ${loadavg.start ?? '?'}→${loadavg.end ?? '?'} on ${loadavg.cpus} CPUs):\n` +
    `  RA-TLS (ego format, quote verified against prepared collateral, MRENCLAVE pinned): ${ratls.toFixed(0)}\n` +
    `  plain TLS (self-signed P-256 pinned with ca):                                       ${plainRate.toFixed(0)}\n` +
    `  RA-TLS / plain: ${ratio}\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'ratls',
    ours: Math.round(ratls),
    bound: Math.round(plainRate),
    boundWhat: 'plain TLS handshakes/s (self-signed P-256 certificate pinned with ca), same process and run',
    unit: 'handshakes/s',
    ratio,
    handshakes: { ratls: totals.ratls.n, plain: totals.plain.n },
    certificateBytes: { ratls: ratlsCert.der.length, plain: plain.rawData.byteLength },
    loadavg,
  })}\n`,
);
