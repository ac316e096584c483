/**
 * Specification of the attestation client (src/attestation-client/client.ts) against a scripted
 * MAA-compatible HTTP server: what each call sends, how a token is verified against `/certs`
 * (algorithm, kid and the one refetch, pinned keys, signature, issuer and time, expectations), what
 * a release answer must hold, which failures are retried and how, and the option checks.
 * client.test.ts runs the same client against the real service. (Also the mutation-testing spec.)
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, webcrypto, type KeyObject, createPrivateKey, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { after, before, beforeEach, test } from 'node:test';
import { selfSignedPem } from '../attestation/support.ts';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';
import {
  ATTESTATION_API_VERSION,
  AttestationClient,
  AttestationClientConfigError,
  AttestationRefusedError,
  AttestationResponseError,
  AttestationTokenError,
  AttestationUnreachableError,
  type AttestationClientOptions,
} from '../../src/attestation-client/index.ts';

interface Signer {
  readonly kid: string;
  readonly key: KeyObject;
  readonly certDer: Uint8Array;
  readonly spkiSha256: string;
}

async function signer(
  kid: string,
  alg: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  },
): Promise<Signer> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${kid}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys,
    signingAlgorithm: alg.name === 'ECDSA' ? { ...alg, hash: 'SHA-256' } : alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return {
    kid,
    key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    certDer: new Uint8Array(cert.rawData),
    spkiSha256: createHash('sha256').update(spki).digest('hex'),
  };
}

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}
interface Answer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

let server: Server;
let url: string;
let seen: Seen[];
let answer: (req: Seen) => Answer;
let A: Signer;
let B: Signer;
let published: unknown[];
/** How many of the next `/certs` requests are answered 503. */
let certsFailures = 0;

const jwk = (s: Signer): unknown => ({
  kty: 'RSA',
  kid: s.kid,
  x5c: [Buffer.from(s.certDer).toString('base64')],
});

before(async () => {
  [A, B] = await Promise.all([signer('key-a'), signer('key-b')]);
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      const a =
        s.url === '/certs'
          ? certsFailures-- > 0
            ? { status: 503, body: {} }
            : { body: { keys: published } }
          : answer(s);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  await new Promise<void>((r) =>
    server.close(() => {
      r();
    }),
  );
});
beforeEach(() => {
  seen = [];
  certsFailures = 0;
  published = [jwk(A)];
  answer = () => ({ status: 404, body: { error: { code: 'NotFound', message: 'no route' } } });
});

const clients: AttestationClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});
function client(options: Partial<AttestationClientOptions> = {}): AttestationClient {
  const c = new AttestationClient({ url, retry: { attempts: 1 }, ...options });
  clients.push(c);
  return c;
}

async function token(
  s: Signer,
  claims: Record<string, unknown> = {},
  opts: { iss?: string; exp?: number; kid?: string | undefined } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: { alg: string; kid?: string } = { alg: 'RS256' };
  const kid = 'kid' in opts ? opts.kid : s.kid;
  if (kid !== undefined) header.kid = kid;
  return new SignJWT({
    'x-ms-sgx-mrenclave': 'ab'.repeat(32),
    'x-ms-sgx-mrsigner': 'cd'.repeat(32),
    ...claims,
  })
    .setProtectedHeader(header)
    .setIssuer(opts.iss ?? url)
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 3600)
    .sign(s.key);
}

async function tokenCheck(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AttestationTokenError, String(err));
    assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_TOKEN');
    return String(err.details['check']);
  }
  assert.fail('accepted');
}

const certsFetches = (): number => seen.filter((s) => s.url === '/certs').length;

// --- attest -------------------------------------------------------------------------------------

test('attest: POST /attest/SgxEnclave with the api-version, base64url quote and runtime data (JSON by default), no init-time data unless given', async () => {
  answer = () => ({ body: { token: 'h.p.s' } });
  const c = client();
  assert.equal(
    await c.attestSgxEnclave({ quote: new Uint8Array([0xfb, 0xff]), runtimeData: new Uint8Array([0xfe]) }),
    'h.p.s',
  );
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(seen[0].url, `/attest/SgxEnclave?api-version=${ATTESTATION_API_VERSION}`);
  assert.equal(seen[0].contentType, 'application/json');
  assert.deepEqual(JSON.parse(seen[0].body), {
    quote: '-_8',
    runtimeData: { data: '_g', dataType: 'JSON' },
  });
  await c.attestSgxEnclave({
    quote: new Uint8Array([1]),
    runtimeData: new Uint8Array([2]),
    runtimeDataType: 'Binary',
    initTimeData: new Uint8Array([3]),
  });
  assert.deepEqual(JSON.parse(seen[1]?.body ?? ''), {
    quote: 'AQ',
    runtimeData: { data: 'Ag', dataType: 'Binary' },
    initTimeData: { data: 'Aw', dataType: 'Binary' },
  });
  await c.attestSgxEnclave({
    quote: new Uint8Array([1]),
    runtimeData: new Uint8Array([2]),
    initTimeData: new Uint8Array([3]),
    initTimeDataType: 'JSON',
  });
  assert.deepEqual((JSON.parse(seen[2]?.body ?? '') as Record<string, unknown>)['initTimeData'], {
    data: 'Aw',
    dataType: 'JSON',
  });
});

test('attest: an answer without a three-part token is ERR_ATTESTATION_CLIENT_RESPONSE naming token', async () => {
  const c = client();
  for (const body of [{}, { token: 7 }, { token: 'a.b' }, { token: 'a.b.c.d' }, '']) {
    answer = () => ({ body });
    await assert.rejects(
      c.attestSgxEnclave({ quote: new Uint8Array(1), runtimeData: new Uint8Array(1) }),
      (err: unknown) => {
        assert.ok(err instanceof AttestationResponseError, String(err));
        assert.equal(err.details['field'], 'token');
        return true;
      },
      JSON.stringify(body),
    );
  }
});

// --- verifyToken --------------------------------------------------------------------------------

test('verify: a token signed by a published key is accepted; header, claims and the key hash are returned', async () => {
  const c = client();
  const t = await token(A, { extra: 1 });
  const v = await c.verifyToken(t);
  assert.equal(v.token, t);
  assert.deepEqual(v.header, { alg: 'RS256', kid: 'key-a' });
  assert.equal(v.claims['extra'], 1);
  assert.equal(v.claims.iss, url);
  assert.equal(v.signingKeySha256, A.spkiSha256);
  assert.equal(seen[0]?.method, 'GET');
  assert.equal(seen[0].contentType, undefined, 'a GET has no body and no content type');
  assert.equal(seen[0].body, '');
});

test('verify: /certs is fetched once and cached; an unknown kid fetches it again once, then is refused as kid', async () => {
  const c = client();
  await c.verifyToken(await token(A));
  await c.verifyToken(await token(A));
  assert.equal(certsFetches(), 1);
  // B is published only now: the cached /certs lacks it, so the client fetches again.
  published = [jwk(A), jwk(B)];
  await c.verifyToken(await token(B));
  assert.equal(certsFetches(), 2);
  assert.equal(await tokenCheck(c.verifyToken(await token(B, {}, { kid: 'key-c' }))), 'kid');
  assert.equal(certsFetches(), 3);
  assert.equal(await tokenCheck(c.verifyToken(await token(A, {}, { kid: undefined }))), 'kid');
});

/** Resolves once the server has seen `n` requests to /certs (the client fetches them on its own). */
async function certsSeen(n: number): Promise<void> {
  for (let i = 0; i < 1000 && certsFetches() < n; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(certsFetches(), n);
}

test('prefetchCerts: /certs is fetched once ahead; the first verifyToken waits for that fetch instead of making its own', async () => {
  const c = client();
  c.prefetchCerts();
  c.prefetchCerts(); // one fetch in flight is enough
  const v = await c.verifyToken(await token(A));
  assert.equal(v.header.kid, 'key-a');
  assert.equal(certsFetches(), 1);
  c.prefetchCerts(); // the keys are held: nothing to fetch
  await c.verifyToken(await token(A));
  assert.equal(certsFetches(), 1);
});

test('prefetchCerts: a failed prefetch is one attempt, neither retried nor reported; verifyToken fetches again itself', async () => {
  certsFailures = 1;
  const retries: string[] = [];
  const c = client({
    retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
    onRetry: (_attempt, _delay, reason) => retries.push(reason),
  });
  c.prefetchCerts();
  await certsSeen(1);
  await new Promise((r) => setTimeout(r, 20)); // time for a retry, were there one
  assert.equal(certsFetches(), 1, 'the prefetch made one attempt');
  assert.deepEqual(retries, [], 'and reported nothing');
  assert.equal((await c.verifyToken(await token(A))).header.kid, 'key-a');
  assert.equal(certsFetches(), 2);
  // verifyToken's own fetch is retried and reported as every request is.
  certsFailures = 1;
  published = [jwk(A), jwk(B)];
  assert.equal((await c.verifyToken(await token(B))).header.kid, 'key-b');
  assert.equal(certsFetches(), 4);
  assert.deepEqual(retries, ['HTTP 503']);
});

test('prefetchCerts after close() makes no request', async () => {
  const c = client();
  await c.close();
  c.prefetchCerts();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(certsFetches(), 0);
});

test('verify: a published certificate whose key is not an RSA key of at least 2048 bits does not verify an RS256 token', async () => {
  const ec = await signer('key-ec', { name: 'ECDSA', namedCurve: 'P-256' });
  const small = await signer('key-small', {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 1024,
    publicExponent: new Uint8Array([1, 0, 1]),
  });
  published = [jwk(A), { kid: 'key-ec', x5c: [Buffer.from(ec.certDer).toString('base64')] }, jwk(small)];
  const c = client();
  // An RS256 token (signed by A) naming the EC certificate's kid.
  assert.equal(await tokenCheck(c.verifyToken(await token(A, {}, { kid: 'key-ec' }))), 'signature');
  // An RS256 token truly signed by the 1024-bit key (by hand: jose refuses to sign with it),
  // otherwise valid: refused for the key's size.
  const now = Math.floor(Date.now() / 1000);
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signed = `${part({ alg: 'RS256', kid: 'key-small' })}.${part({ iss: url, iat: now, exp: now + 3600 })}`;
  const sig = sign('sha256', Buffer.from(signed), small.key).toString('base64url');
  assert.equal(await tokenCheck(c.verifyToken(`${signed}.${sig}`)), 'signature');
  // The same construction with the 2048-bit key is accepted: the refusal above is the size.
  const ok = `${part({ alg: 'RS256', kid: 'key-a' })}.${part({ iss: url, iat: now, exp: now + 3600 })}`;
  const okSig = sign('sha256', Buffer.from(ok), A.key).toString('base64url');
  assert.equal((await c.verifyToken(`${ok}.${okSig}`)).header.kid, 'key-a');
});

test('verify: /certs entries without a kid, without x5c or with an unreadable certificate are skipped', async () => {
  published = [
    { kid: 'no-x5c' },
    { kid: 'x5c-not-list', x5c: Buffer.from(B.certDer).toString('base64') },
    { kid: 'x5c-number', x5c: [7] },
    { kid: 'garbage', x5c: ['AAAA'] },
    { x5c: [Buffer.from(B.certDer).toString('base64')] },
    jwk(A),
  ];
  const c = client();
  assert.deepEqual([...(await c.certs()).keys()], ['key-a']);
  assert.equal((await c.verifyToken(await token(A))).header.kid, 'key-a');
  for (const kid of ['no-x5c', 'x5c-not-list', 'x5c-number', 'garbage'])
    assert.equal(await tokenCheck(c.verifyToken(await token(B, {}, { kid }))), 'kid', kid);
});

test('verify: /certs without a keys array is ERR_ATTESTATION_CLIENT_RESPONSE', async () => {
  published = 'x' as unknown as unknown[];
  const c = client();
  await assert.rejects(c.verifyToken(await token(A)), (err: unknown) => {
    assert.ok(err instanceof AttestationResponseError, String(err));
    assert.equal(err.details['field'], 'keys');
    return true;
  });
});

test('verify: only RS256; not a JWS at all is format', async () => {
  const c = client();
  assert.equal(await tokenCheck(c.verifyToken('not a token')), 'format');
  const [, p, s] = (await token(A)).split('.') as [string, string, string];
  for (const alg of ['none', 'PS256', 'HS256']) {
    const h = Buffer.from(JSON.stringify({ alg, kid: 'key-a' })).toString('base64url');
    assert.equal(await tokenCheck(c.verifyToken(`${h}.${p}.${s}`)), 'alg', alg);
  }
  const noAlg = Buffer.from(JSON.stringify({ kid: 'key-a' })).toString('base64url');
  assert.equal(await tokenCheck(c.verifyToken(`${noAlg}.${p}.${s}`)), 'alg');
  assert.equal(certsFetches(), 0, 'the algorithm is checked before fetching keys');
});

test('verify: a token whose kid names another published key fails the signature', async () => {
  published = [jwk(A), jwk(B)];
  assert.equal(await tokenCheck(client().verifyToken(await token(B, {}, { kid: 'key-a' }))), 'signature');
});

test('verify: pinned keys (any case) accept only tokens signed by a pinned key', async () => {
  published = [jwk(A), jwk(B)];
  const c = client({ pinnedKeys: [A.spkiSha256.toUpperCase()] });
  assert.equal((await c.verifyToken(await token(A))).signingKeySha256, A.spkiSha256);
  assert.equal(await tokenCheck(c.verifyToken(await token(B))), 'pinned-key');
  const both = client({ pinnedKeys: [B.spkiSha256, A.spkiSha256] });
  await both.verifyToken(await token(A));
  await both.verifyToken(await token(B));
});

test('verify: iss must be the base URL without its trailing slash (or the issuer option); an expired token is claims', async () => {
  assert.equal(await tokenCheck(client().verifyToken(await token(A, {}, { iss: `${url}/` }))), 'claims');
  const slashed = client({ url: `${url}///` });
  assert.equal(slashed.baseUrl, url);
  assert.equal(slashed.issuer, url);
  await slashed.verifyToken(await token(A));
  const other = client({ issuer: 'https://as.example' });
  assert.equal(other.issuer, 'https://as.example');
  await other.verifyToken(await token(A, {}, { iss: 'https://as.example' }));
  assert.equal(await tokenCheck(other.verifyToken(await token(A))), 'claims');
  // An expired token is refused as a claims failure (jose's ERR_JWT_EXPIRED), not as a bad signature.
  const expired = await token(A, {}, { exp: Math.floor(Date.now() / 1000) - 600 });
  assert.equal(await tokenCheck(client().verifyToken(expired)), 'claims');
});

test('verify: expected MRENCLAVE and MRSIGNER compare in any case; a missing or different claim names it', async () => {
  const c = client();
  const t = await token(A);
  await c.verifyToken(t, { mrEnclave: 'AB'.repeat(32), mrSigner: 'CD'.repeat(32) });
  assert.equal(
    await tokenCheck(c.verifyToken(t, { mrEnclave: 'ab'.repeat(31) + '00' })),
    'x-ms-sgx-mrenclave',
  );
  assert.equal(await tokenCheck(c.verifyToken(t, { mrSigner: 'cd'.repeat(31) + '00' })), 'x-ms-sgx-mrsigner');
  const numeric = await token(A, { 'x-ms-sgx-mrenclave': 5 });
  assert.equal(await tokenCheck(c.verifyToken(numeric, { mrEnclave: '5' })), 'x-ms-sgx-mrenclave');
});

test('verify: the expected runtime key must be one of x-ms-runtime.keys with every given member', async () => {
  const c = client();
  const want = { kty: 'EC', x: 'xx', y: 'yy' };
  const ok = await token(A, {
    'x-ms-runtime': {
      keys: [
        { kty: 'RSA', n: 'n' },
        { ...want, use: 'enc' },
      ],
    },
  });
  await c.verifyToken(ok, { runtimeKey: want });
  for (const runtime of [
    undefined,
    {},
    { keys: 'x' },
    { keys: [null, 'x', { kty: 'EC', x: 'xx' }] },
    { keys: [{ kty: 'EC', x: 'xx', y: 'other' }] },
  ]) {
    const t = await token(A, runtime === undefined ? {} : { 'x-ms-runtime': runtime });
    assert.equal(
      await tokenCheck(c.verifyToken(t, { runtimeKey: want })),
      'x-ms-runtime',
      JSON.stringify(runtime),
    );
  }
});

// --- releaseSecret ------------------------------------------------------------------------------

const JWE = 'h.k.iv.ct.tag';

test('release: POST /ccnodes/v1/secrets/<name>/release with the token; the answer fields, with defaults', async () => {
  answer = () => ({ body: { name: 'db.pw', contentType: 'text/plain', alg: 'ECDH-ES', jwe: JWE } });
  const c = client();
  assert.deepEqual(await c.releaseSecret('db.pw', 't.o.k'), {
    name: 'db.pw',
    contentType: 'text/plain',
    alg: 'ECDH-ES',
    jwe: JWE,
  });
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(seen[0].url, '/ccnodes/v1/secrets/db.pw/release');
  assert.deepEqual(JSON.parse(seen[0].body), { token: 't.o.k' });
  // The answer's own fields are reported as the service gives them, the requested name only as a default.
  answer = () => ({ body: { name: 'db.pw.v2', contentType: 'text/plain', alg: 'ECDH-ES', jwe: JWE } });
  assert.equal((await c.releaseSecret('db.pw', 't.o.k')).name, 'db.pw.v2');
  answer = () => ({ body: { name: 1, contentType: 2, alg: 3, jwe: JWE } });
  assert.deepEqual(await c.releaseSecret('s-1_x', 't'), {
    name: 's-1_x',
    contentType: 'application/octet-stream',
    alg: '',
    jwe: JWE,
  });
});

test('release: a secret name outside [A-Za-z0-9._-]{1,128} is refused before any request', async () => {
  const c = client();
  await c.releaseSecret('n'.repeat(128), 't').catch(() => undefined);
  for (const name of ['', 'n'.repeat(129), 'a/b', 'a b', '../x'])
    await assert.rejects(c.releaseSecret(name, 't'), (err: unknown) => {
      assert.ok(err instanceof AttestationClientConfigError, name);
      assert.equal(err.details['field'], 'name');
      return true;
    });
  assert.equal(seen.length, 1, 'only the 128-character name was sent');
});

test('release: an answer without a five-part compact JWE is ERR_ATTESTATION_CLIENT_RESPONSE', async () => {
  const c = client();
  for (const jwe of [undefined, 5, 'a.b.c.d', 'a.b.c.d.e.f']) {
    answer = () => ({ body: { jwe } });
    await assert.rejects(c.releaseSecret('s', 't'), (err: unknown) => {
      assert.ok(err instanceof AttestationResponseError, String(err));
      assert.equal(err.details['field'], 'jwe');
      assert.equal(err.details['secret'], 's');
      return true;
    });
  }
});

// --- HTTP answers, retries ----------------------------------------------------------------------

test('refusals: the service code is the x-ccnodes-error-code header, else the MAA error code, else HTTP_<status>', async () => {
  const c = client();
  const refusal = async (a: Answer): Promise<AttestationRefusedError> => {
    answer = () => a;
    try {
      await c.releaseSecret('s', 't');
    } catch (err) {
      assert.ok(err instanceof AttestationRefusedError, String(err));
      assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_REFUSED');
      return err;
    }
    assert.fail('accepted');
  };
  const both = await refusal({
    status: 403,
    headers: { 'x-ccnodes-error-code': 'ERR_SECRET_POLICY_DENIED' },
    body: { error: { code: 'PolicyEvaluationError', message: 'denied' } },
  });
  assert.equal(both.status, 403);
  assert.equal(both.serviceCode, 'ERR_SECRET_POLICY_DENIED');
  assert.equal(both.details['maaCode'], 'PolicyEvaluationError');
  // The message carries the service's own explanation, or says there was none.
  assert.match(both.message, /^release s: HTTP 403 ERR_SECRET_POLICY_DENIED: denied$/);
  const maa = await refusal({ status: 400, body: { error: { code: 'InvalidParameter' } } });
  assert.equal(maa.serviceCode, 'InvalidParameter');
  const bare = await refusal({ status: 500, body: 'not json' });
  assert.equal(bare.serviceCode, 'HTTP_500');
  assert.match(bare.message, /: HTTP 500 HTTP_500: no message$/);
  assert.ok(!('maaCode' in bare.details));
  const numeric = await refusal({ status: 401, body: { error: { code: 7 } } });
  assert.equal(numeric.serviceCode, 'HTTP_401');
  const multiple = await refusal({ status: 300, body: {} });
  assert.equal(multiple.status, 300);
  assert.equal(seen.length, 5, 'refusals are not retried');
});

test('a 2xx answer that is not a JSON object is ERR_ATTESTATION_CLIENT_RESPONSE', async () => {
  const c = client();
  for (const body of ['[1]', 'null', '"x"', '{', '7']) {
    answer = () => ({ status: 299, body });
    await assert.rejects(c.releaseSecret('s', 't'), (err: unknown) => {
      assert.ok(err instanceof AttestationResponseError, body);
      assert.equal(err.details['field'], '(root)');
      return true;
    });
  }
  // 200 with an empty body is an empty object: here, an answer without a JWE.
  answer = () => ({ body: '' });
  await assert.rejects(c.releaseSecret('s', 't'), (err: unknown) => {
    assert.ok(err instanceof AttestationResponseError);
    assert.equal(err.details['field'], 'jwe');
    return true;
  });
});

test('429, 502, 503 and 504 are retried with doubling delays capped at maxDelayMs, reported to onRetry; success after a retry is success', async () => {
  for (const status of [429, 502, 503, 504]) {
    seen = [];
    let calls = 0;
    answer = () => (++calls < 3 ? { status, body: {} } : { body: { jwe: JWE } });
    const delays: number[] = [];
    const retries: [number, number, string][] = [];
    const c = client({
      retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 60 },
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
      onRetry: (attempt, delay, reason) => retries.push([attempt, delay, reason]),
    });
    assert.equal((await c.releaseSecret('s', 't')).jwe, JWE, String(status));
    assert.deepEqual(delays, [50, 60]);
    assert.deepEqual(retries, [
      [2, 50, `HTTP ${status}`],
      [3, 60, `HTTP ${status}`],
    ]);
  }
});

test('retries stop after the configured attempts with ERR_ATTESTATION_CLIENT_UNREACHABLE; the default is 4 attempts from 200 ms', async () => {
  answer = () => ({ status: 503, body: {} });
  const delays: number[] = [];
  const c = client({
    retry: {},
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  await assert.rejects(c.releaseSecret('s', 't'), (err: unknown) => {
    assert.ok(err instanceof AttestationUnreachableError, String(err));
    assert.equal(err.details['attempts'], 4);
    assert.equal(err.details['reason'], 'HTTP 503');
    assert.equal(err.details['url'], url);
    return true;
  });
  assert.equal(seen.length, 4);
  assert.deepEqual(delays, [200, 400, 800]);
  const once = client({ retry: { attempts: 1 } });
  seen = [];
  await assert.rejects(once.releaseSecret('s', 't'), AttestationUnreachableError);
  assert.equal(seen.length, 1);
});

test('the default wait between attempts is a real timer of the computed delay', async () => {
  answer = () => ({ status: 503, body: {} });
  const c = client({ retry: { attempts: 2, baseDelayMs: 0 } });
  await assert.rejects(c.releaseSecret('s', 't'), AttestationUnreachableError);
  assert.equal(seen.length, 2);
});

test('a request that outlives timeoutMs is a transport failure', async () => {
  let release: () => void = () => undefined;
  const slow = createServer((_req, res) => {
    release = () => res.end('{}');
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  try {
    const c = client({
      url: `http://127.0.0.1:${(slow.address() as { port: number }).port}`,
      timeoutMs: 200,
    });
    await assert.rejects(c.certs(), AttestationUnreachableError);
  } finally {
    release();
    slow.closeAllConnections();
    await new Promise<void>((r) =>
      slow.close(() => {
        r();
      }),
    );
  }
});

test('connections are kept alive: consecutive calls reuse one connection, over http and over https with the ca option', async () => {
  const connections = { http: 0, https: 0 };
  const onConnection = (): void => {
    connections.http++;
  };
  server.on('connection', onConnection);
  try {
    const c = client();
    await c.certs();
    await c.certs();
    await c.certs();
    assert.equal(connections.http, 1);
  } finally {
    server.off('connection', onConnection);
  }
  const tls = await selfSignedPem({ cn: 'attestation.test', ipSan: '127.0.0.1' });
  const secure = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk(A)] }));
  });
  secure.on('secureConnection', () => {
    connections.https++;
  });
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  try {
    const c = client({
      url: `https://127.0.0.1:${(secure.address() as { port: number }).port}`,
      ca: tls.certPem,
    });
    assert.deepEqual([...(await c.certs()).keys()], ['key-a']);
    await c.certs();
    await c.certs();
    assert.equal(connections.https, 1);
    await c.close();
  } finally {
    secure.closeAllConnections();
    await new Promise<void>((r) =>
      secure.close(() => {
        r();
      }),
    );
  }
});

// --- options ------------------------------------------------------------------------------------

test('options: every unusable value is ERR_ATTESTATION_CLIENT_CONFIG naming the field; the bounds themselves are accepted', () => {
  const field = (o: Partial<AttestationClientOptions>): unknown => {
    try {
      client({ url: 'http://x', ...o });
    } catch (err) {
      assert.ok(err instanceof AttestationClientConfigError, String(err));
      assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_CONFIG');
      return err.details['field'];
    }
    return undefined;
  };
  for (const bad of ['x', 'file:///x', 'http://u@x', 'http://:p@x', 'http://x/?q=1', 'http://x/#f'])
    assert.equal(field({ url: bad }), 'url', bad);
  assert.equal(field({ url: 'https://x/prefix/' }), undefined);
  assert.equal(field({ ca: 'no pem' }), 'ca');
  assert.equal(field({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), 'ca');
  assert.equal(field({ pinnedKeys: ['ab'.repeat(32), 'xy'.repeat(32)] }), 'pinnedKeys[1]');
  assert.equal(field({ pinnedKeys: ['ab'.repeat(33)] }), 'pinnedKeys[0]');
  assert.equal(field({ pinnedKeys: [] }), 'pinnedKeys');
  const bounds: [
    keyof AttestationClientOptions | 'attempts' | 'baseDelayMs' | 'maxDelayMs',
    number,
    number,
  ][] = [
    ['timeoutMs', 100, 600_000],
    ['attempts', 1, 10],
    ['baseDelayMs', 0, 60_000],
    ['maxDelayMs', 0, 60_000],
  ];
  for (const [k, min, max] of bounds) {
    const opts = (v: number): Partial<AttestationClientOptions> =>
      k === 'timeoutMs' ? { timeoutMs: v } : { retry: { [k]: v } };
    const name = k === 'timeoutMs' ? k : `retry.${k}`;
    assert.equal(field(opts(min)), undefined, `${k} ${min}`);
    assert.equal(field(opts(max)), undefined, `${k} ${max}`);
    assert.equal(field(opts(min - 1)), name, `${k} ${min - 1}`);
    assert.equal(field(opts(max + 1)), name, `${k} ${max + 1}`);
    assert.equal(field(opts(min + 0.5)), name, `${k} ${min + 0.5}`);
  }
});
