/**
 * The simulated PKI: Intel's shape (names, extensions, CRLs, SGX extension layout), determinism
 * from a seed, key persistence in a data directory (mode 0600), and names that say "simulated".
 */
import 'reflect-metadata';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { X509Crl } from '@peculiar/x509';
import { decodePckExtensions, parseCertificate, pckExtensionsOf } from '../../src/core/index.ts';
import {
  OID_SGX_EXTENSION,
  SIM_DCAP_DIR,
  SIM_MASTER_KEY_FILE,
  SIM_PCK_CERT_CN,
  SIM_PLATFORM_CA_CN,
  SIM_PROCESSOR_CA_CN,
  SIM_ROOT_CA_CN,
  SIM_TCB_SIGNING_CN,
  SimKeySource,
  createSimDcap,
  createSimPki,
  ecdsaSignRfc6979,
  encodeSgxExtensionValue,
  type SgxExtensionFields,
} from '../../src/sim/index.ts';
import { REPO_ROOT, testdataPath, testdataSkip } from '../support/testdata.ts';

const execFileAsync = promisify(execFile);
const pki = createSimPki({ seed: 'pki-test' });

function cnOf(cert: X509Certificate, which: 'subject' | 'issuer'): string {
  const line = cert[which].split('\n').find((l) => l.startsWith('CN='));
  return line?.slice(3) ?? '';
}

/** Ordered OIDs of a `SEQUENCE OF SEQUENCE { OID, value }` (recursing into nested sequences). */
function oidTree(der: Uint8Array): string[] {
  const out: string[] = [];
  const read = (buf: Uint8Array, at: number): { tag: number; start: number; end: number } => {
    const tag = buf[at] ?? 0;
    let len = buf[at + 1] ?? 0;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[at + 2 + i] ?? 0);
      start += n;
    }
    return { tag, start, end: start + len };
  };
  const walk = (buf: Uint8Array, from: number, to: number): void => {
    for (let at = from; at < to;) {
      const entry = read(buf, at);
      const oid = read(buf, entry.start);
      const oidText = decodeOid(buf.subarray(oid.start, oid.end));
      out.push(oidText);
      const value = read(buf, oid.end);
      if (value.tag === 0x30) walk(buf, value.start, value.end);
      at = entry.end;
    }
  };
  const top = read(der, 0);
  walk(der, top.start, top.end);
  return out;
}

function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  bytes.forEach((b, i) => {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (i === 0 || parts.length === 0) parts.push(Math.floor(v / 40), v % 40);
      else parts.push(v);
      v = 0;
    }
  });
  return parts.join('.');
}

const FIELDS: SgxExtensionFields = {
  ppid: new Uint8Array(16).fill(0xa5),
  cpuSvn: Uint8Array.from([20, 20, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  pceSvn: 11,
  pceId: new Uint8Array(2),
  fmspc: Uint8Array.from([0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00]),
  sgxType: 'standard',
};

describe('sim keys', () => {
  test('deterministic ECDSA matches RFC 6979 A.2.5 (P-256, SHA-256, "sample")', () => {
    const d = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
    const sig = ecdsaSignRfc6979(d, new TextEncoder().encode('sample'));
    assert.equal(
      Buffer.from(sig).toString('hex'),
      'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' +
        'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
    );
  });

  test('derived keys sign verifiably, deterministically and randomised', () => {
    const key = SimKeySource.open({ seed: 'k' }).ecKey('label');
    const msg = new TextEncoder().encode('message');
    for (const sig of [key.signDeterministic(msg), key.sign(msg)]) {
      assert.equal(sig.length, 64);
      assert.ok(verify('sha256', msg, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      const bad = Uint8Array.from(sig);
      bad[10] = (bad[10] ?? 0) ^ 1;
      assert.ok(!verify('sha256', msg, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, bad));
    }
    assert.deepEqual(key.signDeterministic(msg), key.signDeterministic(msg));
  });

  test('same seed, same keys; another seed or label, other keys; no seed, fresh keys', () => {
    const a = SimKeySource.open({ seed: 'one' });
    const b = SimKeySource.open({ seed: 'one' });
    assert.deepEqual(a.ecKey('x').publicRaw, b.ecKey('x').publicRaw);
    assert.deepEqual(a.derive('ppid', 16), b.derive('ppid', 16));
    assert.notDeepEqual(a.ecKey('x').publicRaw, a.ecKey('y').publicRaw);
    assert.notDeepEqual(a.ecKey('x').publicRaw, SimKeySource.open({ seed: 'two' }).ecKey('x').publicRaw);
    assert.notDeepEqual(SimKeySource.open().ecKey('x').publicRaw, SimKeySource.open().ecKey('x').publicRaw);
  });

  test('an empty seed is refused', () => {
    assert.throws(() => SimKeySource.open({ seed: '' }), { code: 'ERR_SIM_SEED' });
  });

  describe('data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-simkeys-'));
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    test('creates the master secret with mode 0600 in a 0700 directory and reuses it', () => {
      const first = SimKeySource.open({ dataDir: dir });
      assert.equal(first.origin, 'data-dir');
      const file = join(dir, SIM_DCAP_DIR, SIM_MASTER_KEY_FILE);
      assert.equal(first.path, file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, SIM_DCAP_DIR)).mode & 0o777, 0o700);
      assert.equal(readFileSync(file).length, 32);
      const again = SimKeySource.open({ dataDir: dir });
      assert.deepEqual(again.ecKey('root').publicRaw, first.ecKey('root').publicRaw);
      assert.deepEqual(
        createSimPki({ dataDir: dir }).root.der,
        createSimPki({ dataDir: dir }).root.der,
        'the same data dir gives the same root certificate bytes',
      );
    });

    test('processes racing to create the master secret all end up with the same one', async () => {
      const race = join(dir, 'race');
      const script =
        "import { SimKeySource } from './src/sim/keys.ts';" +
        "process.stdout.write(Buffer.from(SimKeySource.open({ dataDir: process.argv[1] }).ecKey('root').publicRaw).toString('hex'));";
      const runs = Array.from({ length: 4 }, () =>
        execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, race], {
          cwd: REPO_ROOT,
        }),
      );
      const keys = new Set((await Promise.all(runs)).map((r) => r.stdout));
      assert.equal(keys.size, 1);
      assert.equal(
        [...keys][0],
        Buffer.from(SimKeySource.open({ dataDir: race }).ecKey('root').publicRaw).toString('hex'),
      );
    });

    test('refuses a key file readable by group or others, and one of the wrong size', () => {
      const file = join(dir, SIM_DCAP_DIR, SIM_MASTER_KEY_FILE);
      chmodSync(file, 0o644);
      assert.throws(() => SimKeySource.open({ dataDir: dir }), { code: 'ERR_SIM_KEY_FILE_PERMISSIONS' });
      chmodSync(file, 0o600);
      writeFileSync(file, new Uint8Array(31));
      assert.throws(() => SimKeySource.open({ dataDir: dir }), { code: 'ERR_SIM_KEY_FILE_INVALID' });
    });
  });
});

describe('sim PKI', () => {
  const root = new X509Certificate(pki.root.der);
  const processor = new X509Certificate(pki.processorCa.der);
  const platform = new X509Certificate(pki.platformCa.der);
  const tcb = new X509Certificate(pki.tcbSigning.der);
  const pck = pki.issuePck('test', pki.keys.ecKey('test-pck'), 'processor', FIELDS);
  const leaf = new X509Certificate(pck.der);

  test('names say "simulated" and keep the substrings Intel verifiers check', () => {
    assert.equal(cnOf(root, 'subject'), SIM_ROOT_CA_CN);
    assert.equal(SIM_ROOT_CA_CN, 'ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)');
    assert.equal(cnOf(processor, 'subject'), SIM_PROCESSOR_CA_CN);
    assert.equal(cnOf(platform, 'subject'), SIM_PLATFORM_CA_CN);
    assert.equal(cnOf(tcb, 'subject'), SIM_TCB_SIGNING_CN);
    assert.equal(cnOf(leaf, 'subject'), SIM_PCK_CERT_CN);
    assert.ok(SIM_ROOT_CA_CN.includes('SGX Root CA'));
    assert.ok(SIM_PROCESSOR_CA_CN.includes('CA') && SIM_PLATFORM_CA_CN.includes('CA'));
    assert.ok(SIM_PCK_CERT_CN.includes('SGX PCK Certificate'));
    for (const cert of [root, processor, platform, tcb, leaf]) {
      assert.match(cnOf(cert, 'subject'), /Simulated/);
      assert.match(cert.subject, /NOT FOR PRODUCTION/);
      assert.doesNotMatch(cert.subject, /Intel/);
    }
  });

  test('chain: root self-signed; CAs and TCB signing under the root; PCK under its CA', () => {
    assert.ok(root.verify(root.publicKey));
    assert.ok(root.ca && processor.ca && platform.ca);
    assert.ok(!tcb.ca && !leaf.ca);
    for (const cert of [processor, platform, tcb]) {
      assert.ok(cert.checkIssued(root));
      assert.ok(cert.verify(root.publicKey));
    }
    assert.ok(leaf.checkIssued(processor));
    assert.ok(leaf.verify(processor.publicKey));
    assert.ok(!leaf.verify(platform.publicKey), 'a PCK does not verify under the other CA');
    assert.equal(leaf.validFrom, 'Jan  1 00:00:00 2025 GMT');
    assert.equal(leaf.validTo, 'Dec 31 23:59:59 2049 GMT');
  });

  test('the PCK certificate carries the SGX extension as Intel encodes it', () => {
    const parsed = pckExtensionsOf(parseCertificate(pck.der));
    assert.deepEqual(parsed.tcbComponents, [...FIELDS.cpuSvn]);
    assert.equal(parsed.pceSvn, 11);
    assert.deepEqual([...parsed.cpuSvn], [...FIELDS.cpuSvn]);
    assert.deepEqual([...parsed.ppid], [...FIELDS.ppid]);
    assert.equal(parsed.fmspcHex, '00906ed50000');
    assert.equal(parsed.pceIdHex, '0000');
    assert.equal(parsed.sgxType, 'Standard');
    assert.equal(parsed.platformInstanceId, undefined);
  });

  test('Platform-CA PCKs add Platform Instance ID and Configuration', () => {
    const scalable = pki.issuePck('scalable', pki.keys.ecKey('s'), 'platform', {
      ...FIELDS,
      sgxType: 'scalable',
      platform: {
        instanceId: new Uint8Array(16).fill(7),
        dynamicPlatform: true,
        cachedKeys: false,
        smtEnabled: true,
      },
    });
    const parsed = pckExtensionsOf(parseCertificate(scalable.der));
    assert.equal(parsed.sgxType, 'Scalable');
    assert.deepEqual([...(parsed.platformInstanceId ?? [])], new Array(16).fill(7));
    assert.deepEqual(parsed.configuration, { dynamicPlatform: true, cachedKeys: false, smtEnabled: true });
    assert.ok(new X509Certificate(scalable.der).verify(platform.publicKey));
  });

  test('bad SGX extension fields are refused', () => {
    assert.throws(() => encodeSgxExtensionValue({ ...FIELDS, fmspc: new Uint8Array(5) }), {
      code: 'ERR_SIM_PLATFORM_CONFIG',
    });
    assert.throws(() => encodeSgxExtensionValue({ ...FIELDS, pceSvn: 70000 }), {
      code: 'ERR_SIM_PLATFORM_CONFIG',
    });
  });

  test('CRLs: issuer, CRL Number and AKI present, signed by the CA, revoked serials listed', async () => {
    const now = new Date('2026-03-01T12:00:00.500Z');
    const der = pki.pckCrl('processor', { now, validityDays: 30, revokedSerials: [pck.serialHex] });
    const crl = new X509Crl(der);
    assert.equal(crl.issuer, processor.subject.split('\n').join(', '));
    assert.equal(crl.thisUpdate.toISOString(), '2026-03-01T12:00:00.000Z');
    assert.equal(crl.nextUpdate?.toISOString(), '2026-03-31T12:00:00.000Z');
    assert.ok(crl.getExtension('2.5.29.20'), 'CRL Number');
    assert.ok(crl.getExtension('2.5.29.35'), 'Authority Key Identifier');
    assert.ok(
      await crl.verify({
        publicKey: await crypto.subtle.importKey(
          'spki',
          pki.processorCa.key.spki,
          { name: 'ECDSA', namedCurve: 'P-256' },
          true,
          ['verify'],
        ),
      }),
    );
    assert.ok(
      !(await crl.verify({
        publicKey: await crypto.subtle.importKey(
          'spki',
          pki.platformCa.key.spki,
          { name: 'ECDSA', namedCurve: 'P-256' },
          true,
          ['verify'],
        ),
      })),
    );
    assert.deepEqual(
      crl.entries.map((e) => e.serialNumber.toLowerCase()),
      [pck.serialHex],
    );
    const rootCrl = new X509Crl(pki.rootCaCrl({ now, validityDays: 365 }));
    assert.equal(rootCrl.entries.length, 0);
    assert.ok(rootCrl.getExtension('2.5.29.20') && rootCrl.getExtension('2.5.29.35'));
  });

  test('one seed gives identical certificate and CRL bytes; another seed does not', () => {
    const again = createSimPki({ seed: 'pki-test' });
    assert.deepEqual(again.root.der, pki.root.der);
    assert.deepEqual(again.processorCa.der, pki.processorCa.der);
    assert.deepEqual(again.tcbSigning.der, pki.tcbSigning.der);
    const now = new Date('2026-01-01T00:00:00Z');
    assert.deepEqual(again.rootCaCrl({ now, validityDays: 1 }), pki.rootCaCrl({ now, validityDays: 1 }));
    assert.notDeepEqual(createSimPki({ seed: 'other' }).root.der, pki.root.der);
    const d1 = createSimDcap({ seed: 'pki-test', platforms: [] });
    assert.equal(d1.rootPem, pki.rootPem);
  });
});

describe('sim PKI against a real Intel PCK certificate', { skip: testdataSkip }, () => {
  test('the SGX extension has the same OIDs in the same order', () => {
    const realPem = readFileSync(testdataPath('dcap/mobilecoin-attestation/leaf_cert.pem'), 'utf8');
    const real = parseCertificate(new Uint8Array(new X509Certificate(realPem).raw));
    const realValue = real.extensions.get(OID_SGX_EXTENSION);
    assert.ok(realValue);
    const realFields = decodePckExtensions(realValue);
    const ours = encodeSgxExtensionValue({
      ppid: realFields.ppid,
      cpuSvn: realFields.cpuSvn,
      pceSvn: realFields.pceSvn,
      pceId: realFields.pceId,
      fmspc: realFields.fmspc,
      sgxType: 'standard',
    });
    assert.deepEqual(oidTree(ours), oidTree(realValue));
    assert.equal(oidTree(ours).length, 1 + 1 + 18 + 3);
    // Same values in → same bytes out: the encoding is Intel's, field for field.
    assert.deepEqual(Buffer.from(ours).toString('hex'), Buffer.from(realValue).toString('hex'));
  });
});
