/**
 * The PCS client against a server that serves exactly Intel's paths and headers (intel-pcs-server.ts)
 * with real PCS response bodies and issuer chains (go-tdx-guest: a TDX set; dcap-qvl: an SGX set),
 * verified at a fixed time inside their validity. Every base-URL form reaches the right paths, the
 * Root CA CRL comes from the CRL distribution point of Intel's root certificate (Intel serves no
 * `/rootcacrl`), and a doubled `/v4/sgx/certification/v4/` path cannot happen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  CollateralCache,
  PcsClient,
  PcsError,
  collateralRequestOfQuote,
  crlDistributionPointUrls,
  rootCaCrlUrlOfChain,
} from '../../src/collateral-source/index.ts';
import { VerificationError, parseCertificate, pemCertificates, verifyQuote } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, setQuote, type ManifestSet } from '../core/verify-helpers.ts';
import { INTEL_API_ORIGIN, INTEL_CERTS_ORIGIN, startIntelPcs, type IntelPcs } from './intel-pcs-server.ts';

const ROOT_CRL_CDP = `${INTEL_CERTS_ORIGIN}/IntelSGXRootCA.der`;
const setById = (id: string): ManifestSet => {
  const s = manifestSets().find((m) => m.id === id);
  if (s === undefined) throw new Error(`no set ${id}`);
  return s;
};

describe('PCS client against Intel-shaped PCS (go-tdx-guest TDX set)', { skip: testdataSkip }, () => {
  let pcs: IntelPcs;
  let set: ManifestSet;
  let quote: Uint8Array;
  const FMSPC = '50806F000000';
  before(async () => {
    set = setById('gotdx-tdx-v4-spr-e4');
    quote = setQuote(set);
    pcs = await startIntelPcs({ collateral: setCollateral(set), tee: 'tdx', fmspc: FMSPC, ca: 'platform' });
  });
  after(() => pcs.close());

  test('the quote names FMSPC 50806F000000, the Platform CA and TDX', () => {
    assert.deepEqual(collateralRequestOfQuote(quote), { fmspc: FMSPC, ca: 'platform', tee: 'tdx' });
  });

  test("Intel's root certificate names its CRL at certificates.trustedservices.intel.com", () => {
    const chain = setCollateral(set).pckCrlIssuerChain;
    assert.equal(rootCaCrlUrlOfChain(chain), ROOT_CRL_CDP);
    const root = pemCertificates(chain)
      .map((d) => parseCertificate(d))
      .find((c) => c.selfIssued);
    assert.ok(root);
    assert.deepEqual(crlDistributionPointUrls(root), [ROOT_CRL_CDP]);
  });

  // Intel's host in every usual form (auto → Intel PCS API), and the local server's own URL in every
  // form with the API named explicitly.
  const forms = (origin: string): string[] => [
    origin,
    `${origin}/`,
    `${origin}/sgx/certification/v4`,
    `${origin}/sgx/certification/v4/`,
    `${origin}/tdx/certification/v4`,
    `${origin}/tdx/certification/v4/`,
  ];
  for (const [label, make] of [
    ['Intel host, api auto', () => forms(INTEL_API_ORIGIN).map((b) => ({ baseUrl: b }))],
    ['local URL, api pcs', () => forms(pcs.apiUrl).map((b) => ({ baseUrl: b, api: 'pcs' as const }))],
  ] as const) {
    test(`${label}: every base form fetches exactly Intel's paths, and the collateral verifies`, async () => {
      for (const options of make()) {
        pcs.log.length = 0;
        const client = new PcsClient({ ...options, fetch: pcs.fetch, retries: 0 });
        assert.equal(client.api, 'pcs', options.baseUrl);
        const raw = await client.collateral(FMSPC, 'platform', 'tdx');
        const seen = pcs.log.map((r) => `${r.host} ${r.status} ${r.url}`).sort();
        assert.deepEqual(
          seen,
          [
            'api 200 /sgx/certification/v4/pckcrl?ca=platform&encoding=der',
            'api 200 /tdx/certification/v4/qe/identity',
            `api 200 /tdx/certification/v4/tcb?fmspc=${FMSPC}`,
            'certs 200 /IntelSGXRootCA.der',
          ],
          options.baseUrl,
        );
        // Everything up to the TCB level verifies (signatures, chains, both CRLs); the quote's TCB is
        // older than every level in this TCB Info, as upstream expects.
        assert.throws(
          () => verifyQuote(quote, raw, { now: new Date(set.now * 1000) }),
          (e: unknown) =>
            e instanceof VerificationError && e.code === 'ERR_VERIFY_TCB_NOT_SUPPORTED' && e.step === 14,
          options.baseUrl,
        );
      }
    });
  }

  test('the cache fetches each item once, the Root CA CRL after the PCK CRL chain that locates it', async () => {
    pcs.log.length = 0;
    const cache = new CollateralCache({
      client: new PcsClient({ baseUrl: `${INTEL_API_ORIGIN}/sgx/certification/v4/`, fetch: pcs.fetch }),
      now: () => new Date(set.now * 1000),
    });
    const a = await cache.get(FMSPC, 'platform', 'tdx');
    const b = await cache.get(FMSPC.toLowerCase(), 'platform', 'tdx');
    assert.equal(a, b);
    assert.equal(pcs.log.length, 4);
    const last = pcs.log.at(-1);
    assert.equal(last?.url, '/IntelSGXRootCA.der');
    assert.throws(
      () => verifyQuote(quote, a, { now: new Date(set.now * 1000) }),
      (e: unknown) => e instanceof VerificationError && e.code === 'ERR_VERIFY_TCB_NOT_SUPPORTED',
    );
  });

  test('the old doubled base (…/v4/sgx/certification/v4/) is refused before any request', () => {
    pcs.log.length = 0;
    assert.throws(
      () =>
        new PcsClient({
          baseUrl: `${pcs.apiUrl}/sgx/certification/v4/sgx/certification/v4/`,
          fetch: pcs.fetch,
        }),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_BASE_URL',
    );
    assert.equal(pcs.log.length, 0);
  });

  test('PCCS mode against Intel fails at /rootcacrl with ERR_PCS_HTTP 404 naming the URL', async () => {
    const client = new PcsClient({ baseUrl: pcs.apiUrl, api: 'pccs', fetch: pcs.fetch, retries: 0 });
    await assert.rejects(
      client.rootCaCrl(),
      (e: unknown) =>
        e instanceof PcsError &&
        e.code === 'ERR_PCS_HTTP' &&
        e.details['status'] === 404 &&
        e.details['url'] === `${pcs.apiUrl}/sgx/certification/v4/rootcacrl` &&
        typeof e.details['requestId'] === 'string' &&
        e.message.includes(`${pcs.apiUrl}/sgx/certification/v4/rootcacrl`),
    );
  });

  test('rootCaCrlUrl overrides both the PCCS route and the distribution point', async () => {
    for (const api of ['pcs', 'pccs'] as const) {
      pcs.log.length = 0;
      const client = new PcsClient({
        baseUrl: pcs.apiUrl,
        api,
        rootCaCrlUrl: `${pcs.certsUrl}/IntelSGXRootCA.der`,
        retries: 0,
      });
      assert.equal(client.rootCaCrlNeedsChain, false);
      await client.collateral(FMSPC, 'platform', 'tdx');
      assert.ok(pcs.log.some((r) => r.host === 'certs' && r.status === 200));
      assert.ok(pcs.log.every((r) => r.status === 200));
    }
  });

  test('an unknown FMSPC, SGX paths for TDX data and a bad CA give Intel statuses as ERR_PCS_HTTP', async () => {
    const client = new PcsClient({ baseUrl: pcs.apiUrl, api: 'pcs', retries: 3, retryDelayMs: 1 });
    pcs.log.length = 0;
    await assert.rejects(
      client.tcbInfo('00906ED50000', 'tdx'),
      (e: unknown) =>
        e instanceof PcsError &&
        e.code === 'ERR_PCS_HTTP' &&
        e.details['status'] === 404 &&
        e.details['url'] === `${pcs.apiUrl}/tdx/certification/v4/tcb?fmspc=00906ED50000`,
    );
    assert.equal(pcs.log.length, 1, '4xx is not retried');
    await assert.rejects(
      client.tcbInfo(FMSPC, 'sgx'),
      (e: unknown) => (e as PcsError).details['status'] === 404,
    );
    await assert.rejects(
      client.pckCrl('bogus' as 'platform'),
      (e: unknown) =>
        e instanceof PcsError &&
        e.details['status'] === 400 &&
        e.details['pcsError'] === 'InvalidRequestSyntax' &&
        e.details['pcsErrorMessage'] === 'ca must be processor or platform',
    );
  });

  test('the v3 header spelling SGX-TCB-Info-Issuer-Chain is read as well', async () => {
    const v3 = await startIntelPcs({
      collateral: setCollateral(set),
      tee: 'tdx',
      fmspc: FMSPC,
      ca: 'platform',
      v3TcbHeader: true,
    });
    try {
      const item = await new PcsClient({ baseUrl: v3.apiUrl, retries: 0 }).tcbInfo(FMSPC, 'tdx');
      assert.equal(item.issuerChain, setCollateral(set).tcbInfoIssuerChain);
      assert.equal(item.body, setCollateral(set).tcbInfo);
    } finally {
      await v3.close();
    }
  });
});

describe('PCS client against Intel-shaped PCS (dcap-qvl SGX set)', { skip: testdataSkip }, () => {
  let pcs: IntelPcs;
  let set: ManifestSet;
  before(async () => {
    set = setById('phala-sgx-v3');
    pcs = await startIntelPcs({
      collateral: setCollateral(set),
      tee: 'sgx',
      fmspc: '00A067110000',
      ca: 'processor',
    });
  });
  after(() => pcs.close());

  test('Intel host: SGX collateral from /sgx/ paths verifies the real quote', async () => {
    const quote = setQuote(set);
    const req = collateralRequestOfQuote(quote);
    assert.deepEqual(req, { fmspc: '00A067110000', ca: 'processor', tee: 'sgx' });
    const client = new PcsClient({ baseUrl: `${INTEL_API_ORIGIN}/tdx/certification/v4/`, fetch: pcs.fetch });
    const raw = await client.collateral(req.fmspc, req.ca, req.tee);
    const r = verifyQuote(quote, raw, { now: new Date(set.now * 1000) });
    assert.equal(r.status, set.expected?.status);
    assert.deepEqual(pcs.log.map((l) => `${l.host} ${l.status} ${l.url}`).sort(), [
      'api 200 /sgx/certification/v4/pckcrl?ca=processor&encoding=der',
      'api 200 /sgx/certification/v4/qe/identity',
      'api 200 /sgx/certification/v4/tcb?fmspc=00A067110000',
      'certs 200 /IntelSGXRootCA.der',
    ]);
  });
});

describe('Root CA CRL location rules', () => {
  test('the simulated root names the PCCS route of the simulated PCS', () => {
    const dcap = createSimDcap({ seed: 'base-url-cdp' });
    assert.match(
      rootCaCrlUrlOfChain(dcap.pki.pckIssuerChainPem('platform')),
      /\/sgx\/certification\/v4\/rootcacrl$/,
    );
  });

  test('a chain without its root names no distribution point: ERR_PCS_ROOT_CA_CRL_URL', () => {
    const dcap = createSimDcap({ seed: 'base-url-cdp' });
    const intermediateOnly =
      dcap.pki.pckIssuerChainPem('platform').split(/(?<=-----END CERTIFICATE-----\n?)/)[0] ?? '';
    assert.throws(
      () => rootCaCrlUrlOfChain(intermediateOnly),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_ROOT_CA_CRL_URL',
    );
  });

  test('Intel PCS mode without a chain or override cannot locate the CRL (typed, no request)', () => {
    const client = new PcsClient({
      baseUrl: INTEL_API_ORIGIN,
      fetch: () => Promise.reject(new Error('no network')),
    });
    assert.equal(client.api, 'pcs');
    assert.throws(
      () => client.rootCaCrlUrl(),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_ROOT_CA_CRL_URL',
    );
  });

  test('PCCS mode uses <root>/sgx/certification/v4/rootcacrl whatever the base form', () => {
    for (const b of [
      'http://pccs:8081',
      'http://pccs:8081/tdx/certification/v4/',
      'http://pccs:8081/sgx/certification/v4',
    ])
      assert.equal(
        new PcsClient({ baseUrl: b }).rootCaCrlUrl(),
        'http://pccs:8081/sgx/certification/v4/rootcacrl',
      );
  });

  test('a non-http(s) Root CA CRL override is refused', () => {
    assert.throws(
      () => new PcsClient({ baseUrl: 'http://pccs:8081', rootCaCrlUrl: 'file:///etc/crl' }),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_BASE_URL',
    );
  });
});
