/** Collateral bundles (ours and dcap-qvl's), CRL encodings, signed-JSON extraction, directories. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import {
  CollateralFormatError,
  crlDer,
  parseCollateralBundle,
  parseCrl,
  parseSignedJson,
  serializeCollateralBundle,
} from '../../src/core/index.ts';
import { loadCollateralPath } from '../../src/collateral-source/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral } from './verify-helpers.ts';

describe('signed JSON extraction', () => {
  test('returns the exact member text, whitespace included', () => {
    const text = '{ "tcbInfo" : {"a": [1, {"b":"}"}],"c":"x\\"y"} , "signature":"' + 'ab'.repeat(64) + '"}';
    const s = parseSignedJson(text, 'tcbInfo');
    assert.equal(s.bodyText, '{"a": [1, {"b":"}"}],"c":"x\\"y"}');
    assert.equal(s.signature.length, 64);
  });
  test('rejects missing members, bad signatures and invalid JSON', () => {
    assert.throws(
      () => parseSignedJson('{"signature":"' + 'ab'.repeat(64) + '"}', 'tcbInfo'),
      /missing member "tcbInfo"/,
    );
    assert.throws(() => parseSignedJson('{"tcbInfo":{},"signature":"abc"}', 'tcbInfo'), /64 bytes/);
    assert.throws(() => parseSignedJson('{"tcbInfo":{}', 'tcbInfo'), /not valid JSON/);
    assert.throws(
      () => parseSignedJson('{"tcbInfo":{},"tcbInfo":{},"signature":"' + 'ab'.repeat(64) + '"}', 'tcbInfo'),
      /duplicate/,
    );
  });
});

describe('collateral bundles', { skip: testdataSkip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-coll-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('dcap-qvl JSON: TCB Info text is kept byte for byte inside the PCS body', () => {
    const text = readFileSync(testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json'), 'utf8');
    const json = JSON.parse(text) as Record<string, string>;
    const raw = parseCollateralBundle(text);
    assert.equal(parseSignedJson(raw.tcbInfo, 'tcbInfo').bodyText, json['tcb_info']);
    assert.equal(parseSignedJson(raw.qeIdentity, 'enclaveIdentity').bodyText, json['qe_identity']);
    assert.equal(Buffer.from(raw.pckCrl).toString('hex'), json['pck_crl']);
  });

  test('our schema round-trips through serializeCollateralBundle', () => {
    for (const set of manifestSets().filter((s) => s.collateral !== null)) {
      const raw = setCollateral(set);
      assert.deepEqual(parseCollateralBundle(serializeCollateralBundle(raw)), raw, set.id);
    }
  });

  test('malformed bundles fail with ERR_COLLATERAL_FORMAT naming the member', () => {
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[]', /not a JSON object/],
      ['{"tcbInfo":"x"}', /lacks "tcbInfoIssuerChain"/],
      [
        JSON.stringify({
          tcbInfo: 'a',
          tcbInfoIssuerChain: 'b',
          qeIdentity: 'c',
          qeIdentityIssuerChain: 'd',
          pckCrl: 'zz',
          pckCrlIssuerChain: 'e',
          rootCaCrl: '30',
        }),
        /pckCrl: not a DER, PEM or hex/,
      ],
      [JSON.stringify({ tcb_info: '{}', tcb_info_signature: 'ab', qe_identity: '{}' }), /tcb_info_signature/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseCollateralBundle(text),
        (e: unknown) => e instanceof CollateralFormatError && re.test(e.message),
      );
    }
  });

  test('CRLs in DER, PEM and hex parse to the same CRL', () => {
    const der = new Uint8Array(
      readFileSync(testdataPath('dcap', 'mobilecoin-attestation', 'processor_crl.der')),
    );
    const pem = readFileSync(testdataPath('dcap', 'mobilecoin-attestation', 'processor_crl.pem'), 'utf8');
    assert.deepEqual(crlDer(pem), der);
    assert.deepEqual(crlDer(Buffer.from(der).toString('hex')), der);
    const crl = parseCrl(der);
    assert.equal(crl.issuerCn, 'Intel SGX PCK Processor CA');
    assert.equal(crl.nextUpdate?.toISOString(), '2023-05-21T22:00:36.000Z');
    assert.ok(crl.hasCrlNumber && crl.hasAuthorityKeyId);
    const platform = parseCrl(new Uint8Array(readFileSync(testdataPath('dcap', 'go-tdx-guest', 'pckcrl'))));
    assert.equal(platform.revoked.size, 44);
    assert.throws(() => crlDer('hello'), CollateralFormatError);
  });

  test('loadCollateralPath reads a bundle file and a PCS artefact directory identically', async () => {
    const set = manifestSets().find((s) => s.id === 'mobilecoin-sgx-v3');
    assert.ok(set);
    const raw = setCollateral(set);
    const bundle = join(dir, 'bundle.json');
    writeFileSync(bundle, serializeCollateralBundle(raw));
    assert.deepEqual(await loadCollateralPath(bundle), raw);
    const cdir = join(dir, 'artefacts');
    mkdirSync(cdir);
    writeFileSync(join(cdir, 'tcb_info.json'), raw.tcbInfo);
    writeFileSync(join(cdir, 'tcb_info_issuer_chain.pem'), raw.tcbInfoIssuerChain);
    writeFileSync(join(cdir, 'qe_identity.json'), raw.qeIdentity);
    writeFileSync(join(cdir, 'qe_identity_issuer_chain.pem'), raw.qeIdentityIssuerChain);
    writeFileSync(
      join(cdir, 'pck_crl.pem'),
      readFileSync(testdataPath('dcap', 'mobilecoin-attestation', 'processor_crl.pem')),
    );
    writeFileSync(join(cdir, 'pck_crl_issuer_chain.pem'), raw.pckCrlIssuerChain);
    writeFileSync(join(cdir, 'root_ca_crl.hex'), Buffer.from(raw.rootCaCrl).toString('hex'));
    assert.deepEqual(await loadCollateralPath(cdir), raw);
    rmSync(join(cdir, 'qe_identity.json'));
    await assert.rejects(
      loadCollateralPath(cdir),
      (e: unknown) => e instanceof CollateralFormatError && /qe_identity\.json/.test(e.message),
    );
  });
});
