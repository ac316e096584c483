/**
 * The DCAP certificate and CRL parser (src/core/x509.ts, crl.ts over der.ts's DER walker) reads
 * the same fields as the generic X.509 library does, and refuses malformed DER with a typed error
 * (CertParseError, CollateralFormatError; DerError for the CRL Distribution Points decoder).
 * The verification path imports no ASN.1 schema library, so `ccnodes quote verify` starts quickly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { X509Certificate, X509Crl } from '@peculiar/x509';
import {
  CollateralFormatError,
  crlDistributionPointUris,
  parseCertificate,
  parseCrl,
} from '../../src/core/index.ts';
import { DerError, decodeOid, decodeTime, readDerElement } from '../../src/core/der.ts';
import { CertParseError, OID, describeName } from '../../src/core/x509.ts';
import { SIM_PCS_BASE_URL, createSimPki } from '../../src/sim/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';

// --- A small DER writer, so each case changes exactly one field of an otherwise valid structure.
function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return new Uint8Array([tag, ...len(body.length), ...body]);
}
const seq = (...p: Uint8Array[]): Uint8Array => tlv(0x30, ...p);
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [a * 40 + b];
  for (const v of rest) {
    const groups = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) groups.unshift(0x80 | (x & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, new Uint8Array(out));
}
const ascii = (tag: number, s: string): Uint8Array => tlv(tag, new Uint8Array(Buffer.from(s, 'latin1')));
const name = (cn: string, value = ascii(0x0c, cn)): Uint8Array =>
  seq(tlv(0x31, seq(oid(OID.commonName), value)), tlv(0x31, seq(oid('2.5.4.6'), ascii(0x13, 'US'))));
const ALG = seq(oid(OID.ecdsaWithSha256));
const SIG = tlv(0x03, bytes(0), seq(tlv(0x02, bytes(1)), tlv(0x02, bytes(2))));
const SPKI = new Uint8Array(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }),
);
const ext = (id: string, value: Uint8Array, critical?: boolean): Uint8Array =>
  seq(oid(id), ...(critical === undefined ? [] : [tlv(0x01, bytes(critical ? 0xff : 0))]), tlv(0x04, value));

interface CertParts {
  version?: Uint8Array[];
  serial?: Uint8Array;
  issuer?: Uint8Array;
  validity?: Uint8Array;
  subject?: Uint8Array;
  extensions?: Uint8Array[];
  trailingTbs?: Uint8Array[];
  sig?: Uint8Array;
  outerExtra?: Uint8Array[];
}
function cert(p: CertParts = {}): Uint8Array {
  const tbs = seq(
    ...(p.version ?? [tlv(0xa0, tlv(0x02, bytes(2)))]),
    p.serial ?? tlv(0x02, bytes(0x00, 0x9a, 0x01)),
    ALG,
    p.issuer ?? name('Test CA'),
    p.validity ?? seq(ascii(0x17, '250101000000Z'), ascii(0x18, '20491231235959Z')),
    p.subject ?? name('Test Leaf'),
    SPKI,
    ...(p.extensions === undefined ? [] : [tlv(0xa3, seq(...p.extensions))]),
    ...(p.trailingTbs ?? []),
  );
  return seq(tbs, ALG, p.sig ?? SIG, ...(p.outerExtra ?? []));
}
const BC_CA = seq(tlv(0x01, bytes(0xff)), tlv(0x02, bytes(0)));

function refusesCert(der: Uint8Array, match: RegExp): void {
  assert.throws(
    () => parseCertificate(der),
    (e: unknown) =>
      e instanceof CertParseError &&
      match.test(`${e.message} ${e.cause instanceof Error ? e.cause.message : ''}`),
  );
}

describe('certificates', () => {
  test('a hand-built certificate: every field the verifier uses', () => {
    const c = parseCertificate(
      cert({ extensions: [ext(OID.basicConstraints, BC_CA, true), ext('1.2.3.4', bytes(5, 6))] }),
    );
    assert.equal(c.serial, '9A01');
    assert.equal(c.signatureAlgorithm, OID.ecdsaWithSha256);
    assert.equal(c.subjectCn, 'Test Leaf');
    assert.equal(c.issuerText, 'CN=Test CA, C=US');
    assert.equal(c.notBefore.toISOString(), '2025-01-01T00:00:00.000Z');
    assert.equal(c.notAfter.toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(c.keyAlgorithm, OID.ecPublicKey);
    assert.equal(c.keyCurve, OID.prime256v1);
    assert.equal(c.publicKeyPoint.length, 65);
    assert.equal(c.isCa, true);
    assert.equal(c.selfIssued, false);
    assert.deepEqual([...c.extensions.keys()], [OID.basicConstraints, '1.2.3.4']);
    assert.deepEqual([...(c.extensions.get('1.2.3.4') ?? [])], [5, 6]);
    assert.deepEqual([...c.signature], [...SIG.subarray(3)]);
  });

  test('the simulated PKI (built with @peculiar/x509) reads the same through both parsers', () => {
    const pki = createSimPki({ seed: 'x509-der-test' });
    for (const sim of [pki.root, pki.processorCa, pki.platformCa, pki.tcbSigning]) {
      const ours = parseCertificate(sim.der);
      const theirs = new X509Certificate(sim.der);
      assert.equal(ours.serial.toLowerCase(), theirs.serialNumber.toLowerCase().replace(/^(00)+/, ''));
      assert.equal(ours.subjectCn, sim.cn);
      assert.equal(ours.notBefore.getTime(), theirs.notBefore.getTime());
      assert.equal(ours.notAfter.getTime(), theirs.notAfter.getTime());
      assert.equal(ours.isCa, sim !== pki.tcbSigning);
      assert.deepEqual([...ours.extensions.keys()].sort(), [...theirs.extensions.map((e) => e.type)].sort());
    }
    const cdp = pki.root.x509.getExtension('2.5.29.31');
    assert.ok(cdp);
    assert.deepEqual(crlDistributionPointUris(new Uint8Array(cdp.value)), [
      `${SIM_PCS_BASE_URL}/sgx/certification/v4/rootcacrl`,
    ]);
    const crl = parseCrl(
      pki.rootCaCrl({
        now: new Date('2025-06-01T00:00:00Z'),
        validityDays: 30,
        revokedSerials: ['0a1b', '7f'],
      }),
    );
    const generic = new X509Crl(crl.der);
    assert.equal(crl.thisUpdate.getTime(), generic.thisUpdate.getTime());
    assert.equal(crl.nextUpdate?.getTime(), generic.nextUpdate?.getTime());
    assert.deepEqual([...crl.revoked].sort(), ['0A1B', '7F']);
    assert.equal(crl.issuerCn, pki.root.cn);
    assert.equal(crl.hasCrlNumber && crl.hasAuthorityKeyId, true);
  });

  test('refuses trailing bytes, a fourth top-level field and an unexpected TBS field', () => {
    refusesCert(new Uint8Array([...cert(), 0]), /trailing bytes/);
    refusesCert(cert({ outerExtra: [tlv(0x05, bytes())] }), /4 fields/);
    refusesCert(cert({ trailingTbs: [tlv(0x02, bytes(1))] }), /unexpected field/);
  });

  test('refuses a signature BIT STRING with unused bits, and an empty serial', () => {
    refusesCert(cert({ sig: tlv(0x03, bytes(4), bytes(0xf0)) }), /unused bits/);
    refusesCert(cert({ serial: tlv(0x02, bytes()) }), /serialNumber is empty/);
  });

  test('refuses a Name attribute value that is not a string, and an OID cut inside a sub-identifier', () => {
    refusesCert(cert({ subject: name('x', tlv(0x02, bytes(1))) }), /not a string type/);
    refusesCert(
      cert({ issuer: seq(tlv(0x31, seq(tlv(0x06, bytes(0x55, 0x04, 0x83)), ascii(0x0c, 'x')))) }),
      /ends inside/,
    );
  });

  test('refuses validity times that are not DER UTC times or not dates', () => {
    for (const [t, why] of [
      [ascii(0x17, '251301000000Z'), /invalid date/], // month 13
      [ascii(0x17, '250230000000Z'), /invalid date/], // 30 February
      [ascii(0x17, '2501010000Z'), /not a UTC/], // no seconds
      [ascii(0x17, '250101000000+0100'), /not a UTC/], // offset instead of Z
      [ascii(0x18, '20250101000000'), /not a UTC/], // local time
      [ascii(0x04, '250101000000Z'), /not a UTC/], // not a time type
    ] as const) {
      refusesCert(cert({ validity: seq(t, ascii(0x17, '300101000000Z')) }), why);
    }
    refusesCert(cert({ validity: seq(ascii(0x17, '250101000000Z')) }), /notBefore, notAfter/);
  });

  test('refuses malformed basicConstraints and extensions', () => {
    refusesCert(
      cert({ extensions: [ext(OID.basicConstraints, seq(tlv(0x01, bytes(0xff)), tlv(0x03, bytes(0))))] }),
      /basicConstraints/,
    );
    refusesCert(cert({ extensions: [ext(OID.basicConstraints, bytes(0x30, 0x05))] }), /basicConstraints/);
    refusesCert(
      cert({ extensions: [seq(oid('1.2.3'), tlv(0x02, bytes(1)), tlv(0x04, bytes()))] }),
      /extnValue/,
    );
    refusesCert(
      cert({ extensions: [seq(oid('1.2.3'), tlv(0x01, bytes(1, 2)), tlv(0x04, bytes()))] }),
      /BOOLEAN of 2 bytes/,
    );
    refusesCert(
      cert({ extensions: [seq(oid('1.2.3'), tlv(0x04, bytes()), tlv(0x04, bytes()))] }),
      /trailing fields/,
    );
  });

  test('a certificate without basicConstraints is not a CA; cA FALSE by default', () => {
    assert.equal(parseCertificate(cert()).isCa, false);
    assert.equal(
      parseCertificate(cert({ serial: tlv(0x02, bytes(7)), extensions: [ext(OID.basicConstraints, seq())] }))
        .isCa,
      false,
    );
  });
});

describe('DER primitives', () => {
  test('UTCTime years 50–99 are 19xx and 00–49 are 20xx; GeneralizedTime keeps milliseconds', () => {
    const t = (tag: number, s: string): string =>
      decodeTime(readDerElement(ascii(tag, s)), 't').toISOString();
    assert.equal(t(0x17, '491231235959Z'), '2049-12-31T23:59:59.000Z');
    assert.equal(t(0x17, '500101000000Z'), '1950-01-01T00:00:00.000Z');
    assert.equal(t(0x18, '20240229120000.5Z'), '2024-02-29T12:00:00.500Z');
  });

  test('OIDs decode, and one ending in a continuation byte is refused', () => {
    assert.equal(decodeOid(oid('1.2.840.113741.1.13.1').subarray(2)), '1.2.840.113741.1.13.1');
    assert.throws(() => decodeOid(bytes(0x2a, 0x86)), DerError);
  });

  test('Name rendering: CN first found, other types by OID, non-UTF-8 bytes shown as Latin-1', () => {
    const n = seq(
      tlv(0x31, seq(oid(OID.commonName), tlv(0x0c, bytes(0x53, 0xdb)))),
      tlv(0x31, seq(oid('2.5.4.99'), ascii(0x16, 'x'))),
    );
    assert.deepEqual(describeName(n), { cn: 'S\u00db', text: 'CN=S\u00db, 2.5.4.99=x' });
  });
});

describe('CRLs', () => {
  const revokedEntry = (
    serial: number[],
    date = ascii(0x17, '250301000000Z'),
    ...more: Uint8Array[]
  ): Uint8Array => seq(tlv(0x02, bytes(...serial)), date, ...more);
  function crl(
    fields: { next?: Uint8Array[]; revoked?: Uint8Array[]; exts?: Uint8Array; extra?: Uint8Array[] } = {},
  ): Uint8Array {
    const tbs = seq(
      tlv(0x02, bytes(1)),
      ALG,
      name('Test CA'),
      ascii(0x17, '250601000000Z'),
      ...(fields.next ?? [ascii(0x17, '250701000000Z')]),
      ...(fields.revoked === undefined ? [] : [seq(...fields.revoked)]),
      fields.exts ??
        tlv(0xa0, seq(ext(OID.crlNumber, tlv(0x02, bytes(1))), ext(OID.authorityKeyIdentifier, seq()))),
      ...(fields.extra ?? []),
    );
    return seq(tbs, ALG, SIG);
  }
  const refusesCrl = (der: Uint8Array, match: RegExp): void => {
    assert.throws(
      () => parseCrl(der, 'pckCrl'),
      (e: unknown) =>
        e instanceof CollateralFormatError &&
        e.message.startsWith('pckCrl: malformed CRL') &&
        match.test(e.message),
    );
  };

  test('a hand-built CRL: issuer, dates, revoked serials (leading zeros dropped), extensions', () => {
    const c = parseCrl(
      crl({
        revoked: [revokedEntry([0x00, 0x9a]), revokedEntry([0x05], ascii(0x18, '20250301000000Z'), seq())],
      }),
    );
    assert.equal(c.issuerCn, 'Test CA');
    assert.equal(c.thisUpdate.toISOString(), '2025-06-01T00:00:00.000Z');
    assert.equal(c.nextUpdate?.toISOString(), '2025-07-01T00:00:00.000Z');
    assert.deepEqual([...c.revoked], ['9A', '05']);
    assert.equal(c.hasCrlNumber, true);
    assert.equal(c.hasAuthorityKeyId, true);
  });

  test('no nextUpdate and no revoked list parse (the verifier decides what that means)', () => {
    const c = parseCrl(crl({ next: [], exts: tlv(0xa0, seq()) }));
    assert.equal(c.nextUpdate, undefined);
    assert.equal(c.revoked.size, 0);
    assert.equal(c.hasCrlNumber, false);
  });

  test('refuses a bad revocation date, a trailing field, a malformed extension block', () => {
    refusesCrl(crl({ revoked: [revokedEntry([1], ascii(0x17, '2503010000Z'))] }), /revocationDate/);
    refusesCrl(
      crl({ revoked: [revokedEntry([1], ascii(0x17, '250301000000Z'), seq(), tlv(0x05, bytes()))] }),
      /trailing fields/,
    );
    refusesCrl(crl({ extra: [tlv(0x02, bytes(1))] }), /unexpected field/);
    refusesCrl(crl({ exts: tlv(0xa0, seq(), seq()) }), /not one SEQUENCE/);
    refusesCrl(crl({ revoked: [revokedEntry([])] }), /userCertificate is empty/);
  });
});

describe('CRL distribution points', () => {
  const dp = (...names: Uint8Array[]): Uint8Array => seq(seq(tlv(0xa0, tlv(0xa0, ...names))));
  test('returns the URIs of fullName, skipping other kinds of name', () => {
    const value = dp(ascii(0x86, 'https://a.example/crl'), tlv(0x82, bytes(0x61)), ascii(0x86, 'ldap://b'));
    assert.deepEqual(crlDistributionPointUris(value), ['https://a.example/crl', 'ldap://b']);
    assert.deepEqual(crlDistributionPointUris(seq(seq())), []);
  });

  test('refuses a GeneralName outside [0]..[8], an unexpected field, and trailing bytes', () => {
    assert.throws(() => crlDistributionPointUris(dp(ascii(0x16, 'https://x'))), /GeneralName has tag 0x16/);
    assert.throws(() => crlDistributionPointUris(seq(seq(tlv(0x02, bytes(1))))), /unexpected field/);
    assert.throws(() => crlDistributionPointUris(new Uint8Array([...dp(), 0])), /trailing bytes/);
  });
});

describe('start-up weight of quote verification', () => {
  /** Bare package specifiers statically imported by the modules reachable from `entry`. */
  function staticPackages(entry: string): Set<string> {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // Static imports and re-exports only: `import(...)` is lazy by design.
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
        const spec = m[1] ?? m[2] ?? '';
        if (/^import\s+type\s/.test(m[0]) || /^export\s+type\s/.test(m[0])) continue;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        else if (!spec.startsWith('node:')) packages.add(spec);
      }
    };
    visit(entry);
    return packages;
  }

  test('quote verify (and the library entry ccnodes/verify) load no ASN.1 schema or DI library', () => {
    const heavy = /^(@peculiar\/|asn1js$|pvtsutils$|pvutils$|reflect-metadata$|tsyringe$|tslib$)/;
    for (const entry of ['src/cli/quote-verify-run.ts', 'src/lib/verify.ts']) {
      const pkgs = [...staticPackages(join(REPO_ROOT, entry))];
      assert.deepEqual(
        pkgs.filter((p) => heavy.test(p)),
        [],
        `${entry} imports ${pkgs.join(', ')}`,
      );
    }
  });
});
