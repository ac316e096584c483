/**
 * The simulated CPU: EINIT checks (signature, exponent, MRENCLAVE, attribute/MISCSELECT masks, KSS,
 * privileged attributes), EREPORT and report verification by the target, EGETKEY with SVN rules,
 * and platform secrets (seeded, persisted 0600).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  decodeReport,
  encodeKeyRequest,
  encodeTargetInfo,
  KEY_NAME,
  KEY_POLICY,
  SIGSTRUCT_SIGNED_REGIONS,
  type KeyRequest,
} from '../../src/core/index.ts';
import {
  launchRequestFromImage,
  measureEnclave,
  PLATFORM_SECRETS_FILE,
  SimCpu,
  type SimEnclave,
} from '../../src/sim/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';
import { makeImage, sign } from './enclave-fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function sealRequest(e: SimEnclave, cpu: SimCpu, over: Partial<KeyRequest> = {}): KeyRequest {
  return {
    keyName: KEY_NAME.SEAL,
    keyPolicy: KEY_POLICY.MRENCLAVE,
    isvSvn: e.isvSvn,
    cpuSvn: cpu.cpuSvn,
    attributeMask: { flags: 0xff0000000000000bn, xfrm: 0n },
    keyId: new Uint8Array(32).fill(1),
    miscMask: 0xf0000000,
    configSvn: 0,
    ...over,
  };
}

describe('EINIT', () => {
  const image = makeImage();
  const sig = sign(image);

  test('initialises a correctly signed enclave with its identity', () => {
    const cpu = SimCpu.fromSeed('einit');
    const { enclave } = cpu.einitImage(image, sig);
    assert.equal(hex(enclave.mrEnclave), hex(measureEnclave(image).mrEnclave));
    assert.equal(enclave.isvProdId, 7);
    assert.equal(enclave.isvSvn, 2);
    assert.equal(enclave.attributes.flags, 0x7n); // INIT | DEBUG | MODE64BIT
    assert.equal(enclave.debug, true);
  });

  test('a flipped byte in each signed region, the signature, or Q1/Q2 fails EINIT', () => {
    const cpu = SimCpu.fromSeed('einit');
    const probes: number[] = [];
    for (const [s, e] of SIGSTRUCT_SIGNED_REGIONS) probes.push(s, s + 20, Math.floor((s + e) / 2), e - 1);
    probes.push(516, 899, 1040, 1500, 1807, 960);
    for (const at of probes) {
      const bad = sig.slice();
      bad[at] = (bad[at] as number) ^ 0x80;
      assert.throws(() => cpu.einitImage(image, bad), { code: 'ERR_EINIT_SIGSTRUCT' }, `flip at ${at}`);
    }
  });

  test('an exponent other than 3 fails EINIT', () => {
    const bad = sig.slice();
    bad.set([1, 0, 1, 0], 512);
    assert.throws(
      () => SimCpu.fromSeed('x').einitImage(image, bad),
      (err: unknown) => (err as { details: { check: string } }).details.check === 'ERR_SIGSTRUCT_EXPONENT',
    );
  });

  test('a SIGSTRUCT for other pages fails with ERR_EINIT_MRENCLAVE', () => {
    const other = makeImage(
      {},
      { 'main.js': "// changed\nenclave.ecall('ping', function (x) { return x; });\n" },
    );
    assert.throws(() => SimCpu.fromSeed('x').einitImage(other, sig), { code: 'ERR_EINIT_MRENCLAVE' });
  });

  test('attribute and MISCSELECT masks are enforced', () => {
    const cpu = SimCpu.fromSeed('x');
    const { request } = launchRequestFromImage(image);
    // DEBUG is not in the default mask: the same SIGSTRUCT launches a production enclave.
    const prod = cpu.einit({ ...request, attributes: { flags: 0x4n, xfrm: 0x3n } }, sig);
    assert.equal(prod.debug, false);
    assert.throws(() => cpu.einit({ ...request, attributes: { flags: 0x4n, xfrm: 0x13n } }, sig), {
      code: 'ERR_EINIT_ATTRIBUTES',
    });
    assert.throws(() => cpu.einit({ ...request, attributes: { flags: 0x6n | 0x400n, xfrm: 0x3n } }, sig), {
      code: 'ERR_EINIT_ATTRIBUTES',
    });
    assert.throws(() => cpu.einit({ ...request, miscSelect: 1 }, sig), { code: 'ERR_EINIT_ATTRIBUTES' });
    assert.throws(() => cpu.einit({ ...request, attributes: { flags: 0x7n, xfrm: 0x3n } }, sig), {
      code: 'ERR_EINIT_ATTRIBUTES',
    });
    // A SIGSTRUCT whose mask enforces DEBUG refuses a production launch.
    const strict = makeImage({ signing: { attributeMask: { flags: '0xffffffffffffffff' } } });
    const strictSig = sign(strict);
    const r2 = launchRequestFromImage(strict).request;
    assert.throws(() => cpu.einit({ ...r2, attributes: { flags: 0x4n, xfrm: 0x3n } }, strictSig), {
      code: 'ERR_EINIT_ATTRIBUTES',
    });
    assert.equal(cpu.einit(r2, strictSig).debug, true);
  });

  test('KSS identities need the KSS attribute', () => {
    const { request } = launchRequestFromImage(image);
    const configId = new Uint8Array(64).fill(5);
    assert.throws(() => SimCpu.fromSeed('x').einit({ ...request, configId }, sig), { code: 'ERR_EINIT_KSS' });
    const kss = makeImage({
      attributes: { flags: ['MODE64BIT', 'KSS'] },
      kss: { isvFamilyId: '01', configId: 'aa', configSvn: 3 },
    });
    const e = SimCpu.fromSeed('x').einitImage(kss, sign(kss)).enclave;
    assert.equal(e.configSvn, 3);
    assert.equal(e.isvFamilyId[0], 1);
  });

  test('PROVISIONKEY only for allow-listed signers; EGETKEY PROVISION needs it', () => {
    const prov = makeImage({ attributes: { flags: ['MODE64BIT', 'PROVISIONKEY'] } });
    const provSig = sign(prov);
    assert.throws(() => SimCpu.fromSeed('x').einitImage(prov, provSig), {
      code: 'ERR_EINIT_PRIVILEGED_ATTRIBUTE',
    });
    const plain = SimCpu.fromSeed('x').einitImage(image, sig).enclave;
    const cpu = SimCpu.fromSeed('x', { privilegedSigners: [plain.mrSigner] });
    const e = cpu.einitImage(prov, provSig).enclave;
    const req = sealRequest(e, cpu, { keyName: KEY_NAME.PROVISION, keyPolicy: 0 });
    assert.equal(cpu.egetkey(e, req).length, 16);
    const ordinary = cpu.einitImage(image, sig).enclave;
    assert.throws(() => cpu.egetkey(ordinary, req), { code: 'ERR_EGETKEY_ATTRIBUTE' });
  });

  test('architectural enclaves (simulated QE/PCE) launch with a fixed identity', () => {
    const cpu = SimCpu.fromSeed('arch');
    const qe = cpu.launchArchitectural({
      mrEnclave: new Uint8Array(32).fill(0xee),
      mrSigner: new Uint8Array(32).fill(0x11),
      attributes: { flags: 0x14n, xfrm: 0x3n },
      isvProdId: 1,
      isvSvn: 5,
    });
    assert.equal(qe.attributes.flags, 0x15n); // INIT set
    assert.equal(
      cpu.egetkey(qe, sealRequest(qe, cpu, { keyName: KEY_NAME.PROVISION, keyPolicy: 0 })).length,
      16,
    );
    const report = cpu.ereport(qe, qe.targetInfo());
    assert.equal(cpu.verifyReport(qe, report).body.isvSvn, 5);
    assert.throws(
      () =>
        cpu.launchArchitectural({
          mrEnclave: new Uint8Array(31),
          mrSigner: new Uint8Array(32),
          attributes: { flags: 0x4n, xfrm: 0x3n },
          isvProdId: 1,
        }),
      { code: 'ERR_EINIT_ATTRIBUTES' },
    );
  });

  test('the real synthetic SIGSTRUCT initialises its tcs-plus-pattern pages', { skip: testdataSkip }, () => {
    const pattern = new Uint8Array(4096).map((_, i) => i & 0xff);
    const e = SimCpu.fromSeed('x').einit(
      {
        measurement: {
          enclaveSize: 8192,
          ssaFrameSize: 1,
          pages: [
            { offset: 0, secinfoFlags: 0x100, measured: true, content: new Uint8Array(4096) },
            { offset: 4096, secinfoFlags: 0x203, measured: true, content: pattern },
          ],
        },
        attributes: { flags: 0x6n, xfrm: 0x3n },
        miscSelect: 0,
      },
      new Uint8Array(readFileSync(testdataPath('sgx', 'synthetic', 'sigstruct-synthetic.bin'))),
    );
    assert.equal(hex(e.mrSigner), '2f9f8fd4fe12d77232f1d87571ca8252ca27714efe7705e46222cffd5a22e8c4');
    assert.equal(e.isvProdId, 0x1234);
    assert.equal(e.isvSvn, 7);
  });
});

describe('EREPORT and report verification', () => {
  const a = makeImage();
  const b = makeImage({ isvSvn: 3 }, { 'main.js': "enclave.ecall('ping', function () { return 2; });\n" });
  const sigA = sign(a);
  const sigB = sign(b);

  test('a report for a target verifies there and nowhere else', () => {
    const cpu = SimCpu.fromSeed('report');
    const ea = cpu.einitImage(a, sigA).enclave;
    const eb = cpu.einitImage(b, sigB).enclave;
    const data = new Uint8Array(64).fill(0xab);
    const report = cpu.ereport(ea, encodeTargetInfo(eb.targetInfo()), data);
    assert.equal(report.length, 432);
    const r = cpu.verifyReport(eb, report);
    assert.equal(hex(r.body.mrEnclave), hex(ea.mrEnclave));
    assert.equal(hex(r.body.mrSigner), hex(ea.mrSigner));
    assert.equal(hex(r.body.reportData), hex(data));
    assert.equal(hex(r.body.cpuSvn), hex(cpu.cpuSvn));
    assert.equal(r.body.attributes.flags, 0x7n);
    assert.equal(hex(decodeReport(report).keyId), hex(cpu.reportKeyId));
    // Wrong target: the reporting enclave itself, or the target on another platform.
    assert.throws(() => cpu.verifyReport(ea, report), { code: 'ERR_REPORT_MAC' });
    const other = SimCpu.fromSeed('other-platform');
    assert.throws(() => other.verifyReport(other.einitImage(b, sigB).enclave, report), {
      code: 'ERR_REPORT_MAC',
    });
    // Tampered body, KEYID or MAC.
    for (const at of [0, 64, 128, 320, 383, 384, 420]) {
      const bad = report.slice();
      bad[at] = (bad[at] as number) ^ 1;
      assert.throws(() => cpu.verifyReport(eb, bad), { code: 'ERR_REPORT_MAC' }, `flip at ${at}`);
    }
  });

  test('an enclave handle from another CPU is refused', () => {
    const e = SimCpu.fromSeed('one').einitImage(a, sigA).enclave;
    assert.throws(() => SimCpu.fromSeed('two').ereport(e, e.targetInfo()), { code: 'ERR_ENCLAVE_UNKNOWN' });
    assert.throws(() => SimCpu.fromSeed('one').ereport(e, e.targetInfo()), { code: 'ERR_ENCLAVE_UNKNOWN' });
  });

  test('REPORTDATA longer than 64 bytes is refused', () => {
    const cpu = SimCpu.fromSeed('report');
    const e = cpu.einitImage(a, sigA).enclave;
    assert.throws(() => cpu.ereport(e, e.targetInfo(), new Uint8Array(65)), { code: 'ERR_EREPORT_DATA' });
  });
});

describe('EGETKEY', () => {
  const a = makeImage();
  const sigA = sign(a);
  const a2 = makeImage({}, { 'main.js': "enclave.ecall('ping', function () { return 'v2'; });\n" });
  const sigA2 = sign(a2);
  const sigA2b = sign(a2, 'b');

  test('SVN rules: requested ISVSVN/CPUSVN/CONFIGSVN above the current values fail', () => {
    const cpu = SimCpu.fromSeed('keys');
    const e = cpu.einitImage(a, sigA).enclave; // ISVSVN 2
    const k2 = cpu.egetkey(e, sealRequest(e, cpu));
    const k1 = cpu.egetkey(e, sealRequest(e, cpu, { isvSvn: 1 }));
    assert.notEqual(hex(k1), hex(k2));
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { isvSvn: 3 })), { code: 'ERR_EGETKEY_ISVSVN' });
    const high = cpu.cpuSvn.slice();
    high[3] = (high[3] as number) + 1;
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { cpuSvn: high })), {
      code: 'ERR_EGETKEY_CPUSVN',
    });
    const low = new Uint8Array(16);
    assert.notEqual(hex(cpu.egetkey(e, sealRequest(e, cpu, { cpuSvn: low }))), hex(k2));
  });

  test('policy and key name checks', () => {
    const cpu = SimCpu.fromSeed('keys');
    const e = cpu.einitImage(a, sigA).enclave;
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { keyPolicy: KEY_POLICY.CONFIGID })), {
      code: 'ERR_EGETKEY_ATTRIBUTE',
    });
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { keyPolicy: 0x40 })), {
      code: 'ERR_EGETKEY_RESERVED',
    });
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { keyName: 9 })), { code: 'ERR_EGETKEY_KEYNAME' });
    assert.throws(() => cpu.egetkey(e, sealRequest(e, cpu, { keyName: KEY_NAME.EINITTOKEN })), {
      code: 'ERR_EGETKEY_ATTRIBUTE',
    });
    // The 512-byte encoding is accepted too.
    assert.equal(
      hex(cpu.egetkey(e, encodeKeyRequest(sealRequest(e, cpu)))),
      hex(cpu.egetkey(e, sealRequest(e, cpu))),
    );
  });

  test('seal keys: MRENCLAVE policy separates enclaves; MRSIGNER policy shares across a signer only', () => {
    const cpu = SimCpu.fromSeed('keys');
    const e1 = cpu.einitImage(a, sigA).enclave;
    const e2 = cpu.einitImage(a2, sigA2).enclave;
    const e3 = cpu.einitImage(a2, sigA2b).enclave; // same code, other signer
    const byEnclave = (e: SimEnclave): string => hex(cpu.egetkey(e, sealRequest(e, cpu)));
    const bySigner = (e: SimEnclave): string =>
      hex(cpu.egetkey(e, sealRequest(e, cpu, { keyPolicy: KEY_POLICY.MRSIGNER })));
    assert.notEqual(byEnclave(e1), byEnclave(e2));
    assert.equal(bySigner(e1), bySigner(e2));
    assert.notEqual(bySigner(e2), bySigner(e3));
    assert.equal(byEnclave(e1), byEnclave(cpu.einitImage(a, sigA).enclave));
    // Different KEYID → different key.
    assert.notEqual(hex(cpu.egetkey(e1, sealRequest(e1, cpu, { keyId: new Uint8Array(32) }))), byEnclave(e1));
  });

  test('keys are deterministic per seed and differ between platforms', () => {
    const k = (seed: string): string => {
      const cpu = SimCpu.fromSeed(seed);
      const e = cpu.einitImage(a, sigA).enclave;
      return hex(cpu.egetkey(e, sealRequest(e, cpu)));
    };
    assert.equal(k('p1'), k('p1'));
    assert.notEqual(k('p1'), k('p2'));
  });
});

describe('platform secrets in a data directory', () => {
  test('created with mode 0600, reused on reopen, refused when group/other can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-simcpu-'));
    try {
      const image = makeImage();
      const sig = sign(image);
      const key = async (): Promise<string> => {
        const cpu = await SimCpu.open(dir);
        const e = cpu.einitImage(image, sig).enclave;
        return hex(cpu.egetkey(e, sealRequest(e, cpu)));
      };
      const first = await key();
      const file = join(dir, PLATFORM_SECRETS_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(await key(), first);
      chmodSync(file, 0o644);
      await assert.rejects(SimCpu.open(dir), { code: 'ERR_SIM_CPU_SECRETS' });
      chmodSync(file, 0o600);
      writeFileSync(file, '{"version":1,"rootSealKey":"zz"}');
      await assert.rejects(SimCpu.open(dir), { code: 'ERR_SIM_CPU_SECRETS' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two fresh data directories give different platforms', async () => {
    const d1 = mkdtempSync(join(tmpdir(), 'ccnodes-simcpu-'));
    const d2 = mkdtempSync(join(tmpdir(), 'ccnodes-simcpu-'));
    try {
      const image = makeImage();
      const sig = sign(image);
      const c1 = await SimCpu.open(d1);
      const c2 = await SimCpu.open(d2);
      const e1 = c1.einitImage(image, sig).enclave;
      const e2 = c2.einitImage(image, sig).enclave;
      assert.notEqual(hex(c1.egetkey(e1, sealRequest(e1, c1))), hex(c2.egetkey(e2, sealRequest(e2, c2))));
    } finally {
      rmSync(d1, { recursive: true, force: true });
      rmSync(d2, { recursive: true, force: true });
    }
  });
});
