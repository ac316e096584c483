/**
 * Specification of the launcher's platform (src/container/platform.ts): which simulated CPU (seed
 * or data directory, one of them required), which quoting path (a given AESM socket, which must
 * exist, else in process), and the in-process quoting enclave: its TARGETINFO, quotes of reports
 * made on this CPU for it carrying the report body and the PCK chain of this platform's own
 * simulated DCAP deployment, and refusal of a report from another CPU. The default AESM socket
 * (used when it exists and none is named; the in-process cases name an absent one, so they hold on a
 * host with aesmd too) and the builder of the deployment, which is built once
 * per seed or data directory, are options so that both can be observed here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeTargetInfo, REPORT_BODY_SIZE } from '../../src/core/index.ts';
import { ContainerLaunchError, openPlatform, type LaunchPlatform } from '../../src/container/index.ts';
import { createSimProvider, silentLogger, startQuoteHelper } from '../../src/node/quote-helper/index.ts';
import {
  createSimDcap,
  DEFAULT_SIM_PLATFORM,
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  SimCpu,
  type SimDcap,
  type SimDcapOptions,
} from '../../src/sim/index.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccnodes-platform-spec-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SEED = 'ccnodes-platform-spec';
/** No default AESM socket, so that "in process" holds on a host with aesmd too. */
const noAesmd = (): { defaultAesmSocket: string } => ({ defaultAesmSocket: join(dir, 'no-aesmd.socket') });
const QUOTE_HEADER_SIZE = 48;

async function refusal(p: Promise<unknown>): Promise<ContainerLaunchError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ContainerLaunchError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_QUOTE');
    return err;
  }
  assert.fail('accepted');
}

/** A REPORT made on `cpu` by a small architectural enclave, targeted at `target`. */
function report(cpu: SimCpu, target: Uint8Array, data: number): Uint8Array {
  const app = cpu.launchArchitectural({
    mrEnclave: new Uint8Array(32).fill(0x11),
    mrSigner: new Uint8Array(32).fill(0x22),
    attributes: SIM_QE_ATTRIBUTES,
    isvProdId: 9,
  });
  return cpu.ereport(app, target, new Uint8Array(64).fill(data));
}

/** The first certificate (the PCK leaf) of a quote's certification data. */
function pckLeaf(quote: Uint8Array): string {
  const text = Buffer.from(quote).toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(text);
  assert.ok(m !== null, 'a PEM chain in the quote');
  return m[0];
}

async function quoted(p: LaunchPlatform, data: number): Promise<{ quote: Uint8Array; body: Uint8Array }> {
  const target = await p.quoteTarget();
  const r = report(p.cpu, target, data);
  const quote = await p.quote(r);
  const body = r.subarray(0, REPORT_BODY_SIZE);
  assert.deepEqual(quote.subarray(QUOTE_HEADER_SIZE, QUOTE_HEADER_SIZE + REPORT_BODY_SIZE), body);
  return { quote, body };
}

test('a platform needs a seed or a data directory: ERR_CONTAINER_QUOTE naming dataDir', async () => {
  const e = await refusal(openPlatform(noAesmd()));
  assert.equal(e.details['field'], 'dataDir');
  const s = await refusal(openPlatform({ aesmSocket: join(dir, 'x.socket') }));
  assert.equal(s.details['field'], 'dataDir', 'checked before the socket');
});

test('a named AESM socket that does not exist is ERR_CONTAINER_QUOTE naming it', async () => {
  const socket = join(dir, 'no-aesm.socket');
  const e = await refusal(openPlatform({ simSeed: SEED, aesmSocket: socket }));
  assert.equal(e.details['socketPath'], socket);
});

test('in process (no AESM socket here): the simulated QE of this CPU quotes its reports with this deployment’s PCK chain; another CPU’s report is refused', async () => {
  const p = await openPlatform({ ...noAesmd(), simSeed: SEED });
  assert.equal(p.quoting, 'in-process');
  const target = await p.quoteTarget();
  assert.equal(target.length, 512);
  assert.deepEqual(
    Buffer.from(decodeTargetInfo(target).mrEnclave).toString('hex'),
    Buffer.from(SIM_QE_MRENCLAVE).toString('hex'),
  );
  const a = await quoted(p, 1);
  // The same seed gives the same CPU (a report of one is quoted by the other) and the same chain.
  const again = await openPlatform({ ...noAesmd(), simSeed: SEED });
  assert.equal(pckLeaf((await quoted(again, 2)).quote), pckLeaf(a.quote));
  assert.ok((await again.quote(report(p.cpu, target, 3))).length > 0);
  // Another CPU's report fails the QE's report check.
  const other = SimCpu.fromSeed('another cpu');
  const e = await refusal(p.quote(report(other, target, 4)));
  assert.match(e.message, /the quoting enclave refused the report/);
  // Another seed: another deployment.
  const seed2 = await openPlatform({ ...noAesmd(), simSeed: `${SEED}-2` });
  assert.notEqual(pckLeaf((await quoted(seed2, 5)).quote), pckLeaf(a.quote));
});

test('a data directory: the CPU persisted there, its own deployment per directory, not the seed’s', async () => {
  const d1 = join(dir, 'one');
  const d2 = join(dir, 'two');
  const p1 = await openPlatform({ ...noAesmd(), dataDir: d1 });
  const p2 = await openPlatform({ ...noAesmd(), dataDir: d2 });
  assert.equal(p1.quoting, 'in-process');
  const q1 = await quoted(p1, 6);
  const q2 = await quoted(p2, 7);
  assert.notEqual(pckLeaf(q1.quote), pckLeaf(q2.quote));
  const seeded = await openPlatform({ ...noAesmd(), simSeed: SEED });
  assert.notEqual(pckLeaf(q1.quote), pckLeaf((await quoted(seeded, 8)).quote));
  // Opened again: the same CPU (its report is quoted) and the same chain.
  const p1again = await openPlatform({ ...noAesmd(), dataDir: d1 });
  assert.equal(pckLeaf((await quoted(p1again, 9)).quote), pckLeaf(q1.quote));
  assert.ok((await p1again.quote(report(p1.cpu, await p1.quoteTarget(), 10))).length > 0);
  // A data directory's CPU is not the seed's: a report of one is refused by the other's QE.
  await refusal(seeded.quote(report(p1.cpu, await seeded.quoteTarget(), 11)));
  // The deployment is the one persisted in the directory (what the quote helper's --data-dir
  // uses), and a seed's is the seed's.
  const fromDir = createSimDcap({ dataDir: d1 }).platform(DEFAULT_SIM_PLATFORM);
  assert.equal(pckLeaf(fromDir.quote(q1.body)), pckLeaf(q1.quote));
  const fromSeed = createSimDcap({ seed: SEED }).platform(DEFAULT_SIM_PLATFORM);
  assert.equal(pckLeaf(fromSeed.quote(q1.body)), pckLeaf((await quoted(seeded, 12)).quote));
});

test('an AESM socket: quotes come from the quote helper on it, its TARGETINFO fetched once when the quote comes first', async () => {
  const cpu = SimCpu.fromSeed(SEED);
  const qe = cpu.launchArchitectural({
    mrEnclave: SIM_QE_MRENCLAVE,
    mrSigner: SIM_QE_MRSIGNER,
    attributes: SIM_QE_ATTRIBUTES,
    isvProdId: SIM_QE_ISVPRODID,
  });
  const provider = await createSimProvider({
    seed: SEED,
    verifyReport: (r) => {
      cpu.verifyReport(qe, r);
    },
    makeQeReport: (target, reportData) => cpu.ereport(qe, target, reportData),
  });
  const socket = join(dir, 'aesm.socket');
  const helper = await startQuoteHelper({ socketPath: socket, provider, logger: silentLogger() });
  try {
    const p = await openPlatform({ simSeed: SEED, aesmSocket: socket });
    assert.equal(p.quoting, `aesm:${socket}`);
    const local = await openPlatform({ ...noAesmd(), simSeed: SEED });
    const target = await local.quoteTarget();
    // quote() before quoteTarget(): it fetches the target itself.
    const first = await p.quote(report(p.cpu, target, 12));
    assert.deepEqual(
      first.subarray(QUOTE_HEADER_SIZE, QUOTE_HEADER_SIZE + REPORT_BODY_SIZE),
      report(p.cpu, target, 12).subarray(0, REPORT_BODY_SIZE),
    );
    assert.deepEqual(await p.quoteTarget(), target);
    assert.ok((await quoted(p, 13)).quote.length > 0);
    // No socket named: the default one when it exists (aesmd's path on a node), else in process.
    const byDefault = await openPlatform({ simSeed: SEED, defaultAesmSocket: socket });
    assert.equal(byDefault.quoting, `aesm:${socket}`);
    assert.deepEqual(await byDefault.quoteTarget(), target);
    assert.ok((await quoted(byDefault, 14)).quote.length > 0);
    const absent = join(dir, 'no-default-aesm.socket');
    assert.equal((await openPlatform({ simSeed: SEED, defaultAesmSocket: absent })).quoting, 'in-process');
    const named = await openPlatform({ simSeed: SEED, aesmSocket: socket, defaultAesmSocket: absent });
    assert.equal(named.quoting, `aesm:${socket}`, 'a named socket wins over the default');
  } finally {
    await helper.close(100);
  }
});

test('the simulated DCAP deployment is built once per seed or data directory in a process, then kept', async () => {
  const built: SimDcapOptions[] = [];
  const loadSimDcap = (source: SimDcapOptions): SimDcap => {
    built.push(source);
    return createSimDcap(source);
  };
  const seed = `${SEED}-built-once`;
  const first = await openPlatform({ ...noAesmd(), simSeed: seed, loadSimDcap });
  const second = await openPlatform({ ...noAesmd(), simSeed: seed, loadSimDcap });
  assert.deepEqual(built, [{ seed }]);
  assert.equal(pckLeaf((await quoted(second, 15)).quote), pckLeaf((await quoted(first, 16)).quote));
  const d = join(dir, 'built-once');
  await openPlatform({ ...noAesmd(), dataDir: d, loadSimDcap });
  await openPlatform({ ...noAesmd(), dataDir: d, loadSimDcap });
  await openPlatform({ ...noAesmd(), simSeed: `${seed}-2`, loadSimDcap });
  assert.deepEqual(built, [{ seed }, { dataDir: d }, { seed: `${seed}-2` }]);
});
