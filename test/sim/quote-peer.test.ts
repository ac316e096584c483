/**
 * Simulated quotes checked by an independent verifier, @phala/dcap-qvl (a devDependency): with the
 * simulated root as its trust anchor it reaches the same TCB statuses as our core; with its
 * built-in Intel root it refuses every simulated quote. The simulator is thus not its own only
 * oracle.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { RawCollateral } from '../../src/core/index.ts';
import { SIM_PLATFORM_PRESETS, createSimDcap } from '../../src/sim/index.ts';

interface PeerCollateral {
  readonly [key: string]: string;
}
interface PeerResult {
  readonly status: string;
  readonly advisory_ids: readonly string[];
}
interface PeerVerifier {
  verify(quote: Buffer, collateral: PeerCollateral, nowSecs: number): Promise<PeerResult> | PeerResult;
}
interface PeerModule {
  readonly QuoteVerifier: { newWithRootCa(der: Buffer): PeerVerifier };
  verify(quote: Buffer, collateral: PeerCollateral, nowSecs: number): Promise<PeerResult> | PeerResult;
}

const require = createRequire(import.meta.url);
const peer = require('@phala/dcap-qvl') as PeerModule;

const NOW = new Date('2026-06-01T10:00:00Z');
const dcap = createSimDcap({ seed: 'peer-test' });

/** dcap-qvl's collateral shape: the inner JSON texts and their signatures apart. */
function peerCollateral(c: RawCollateral): PeerCollateral {
  const split = (body: string): { inner: string; signature: string } => {
    const at = body.lastIndexOf(',"signature":"');
    return {
      inner: body.slice(body.indexOf(':') + 1, at),
      signature: body.slice(at + 14, body.length - 2),
    };
  };
  const tcb = split(c.tcbInfo);
  const qe = split(c.qeIdentity);
  return {
    tcb_info: tcb.inner,
    tcb_info_signature: tcb.signature,
    tcb_info_issuer_chain: c.tcbInfoIssuerChain,
    qe_identity: qe.inner,
    qe_identity_signature: qe.signature,
    qe_identity_issuer_chain: c.qeIdentityIssuerChain,
    pck_crl: Buffer.from(c.pckCrl).toString('hex'),
    pck_crl_issuer_chain: c.pckCrlIssuerChain,
    root_ca_crl: Buffer.from(c.rootCaCrl).toString('hex'),
  };
}

describe('@phala/dcap-qvl agrees with the simulation', () => {
  const nowSecs = Math.floor(NOW.getTime() / 1000);
  const withSimRoot = peer.QuoteVerifier.newWithRootCa(Buffer.from(dcap.pki.root.der));

  for (const preset of SIM_PLATFORM_PRESETS) {
    const name = preset.config.name;
    const expected = preset.expected;
    // dcap-qvl throws on a Revoked TCB level instead of returning it, so that preset, like the
    // error presets, is compared on "refused".
    const comparable = 'status' in expected && expected.status !== 'Revoked';
    test(name, async () => {
      const p = dcap.platform(name);
      const quote = Buffer.from(p.quote(p.syntheticReportBody({ reportData: new Uint8Array(64).fill(1) })));
      const collateral = peerCollateral(p.collateral({ now: NOW }));
      if (comparable) {
        const r = await withSimRoot.verify(quote, collateral, nowSecs);
        assert.equal(r.status, expected.status);
        assert.deepEqual([...r.advisory_ids].sort(), [...expected.advisoryIds].sort());
      } else {
        await assert.rejects(async () => withSimRoot.verify(quote, collateral, nowSecs));
      }
      await assert.rejects(
        async () => peer.verify(quote, collateral, nowSecs),
        'the peer pinned to Intel refuses a simulated quote',
      );
    });
  }

  test('a quote with one flipped body byte is refused by the peer too', async () => {
    const p = dcap.platform('up-to-date');
    const quote = Buffer.from(p.quote(p.syntheticReportBody({ reportData: new Uint8Array(64) })));
    quote[48 + 320] = (quote[48 + 320] ?? 0) ^ 1;
    await assert.rejects(async () =>
      withSimRoot.verify(quote, peerCollateral(p.collateral({ now: NOW })), nowSecs),
    );
  });
});
