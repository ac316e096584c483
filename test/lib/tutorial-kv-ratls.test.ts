/**
 * The tutorial's key-value service over RA-TLS (examples/hello-enclave/kv/server.ts and client.ts,
 * docs/tutorial-enclave.md): the enclave makes the TLS key and the quote binding it; a client pinned
 * to the MRENCLAVE it measured itself talks to that enclave, the sealed store survives a restart,
 * and a client pinned to anything else — or a service built from a modified enclave — is refused
 * before a request leaves. Simulated platform and collateral; the simulated root trusted explicitly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { enclaveImage, loadEnclaveImage } from '../../src/lib/enclave.ts';
import { verifyRatlsCertificate, type RatlsVerification } from '../../src/lib/ratls.ts';
import type { RawCollateral } from '../../src/lib/verify.ts';
import { KV_DEFINITION, tutorialDcap } from '../../examples/hello-enclave/kv/host.ts';
import { startKvService, type KvService } from '../../examples/hello-enclave/kv/server.ts';
import { expectedMrEnclave, kvClient, type KvClient } from '../../examples/hello-enclave/kv/client.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const root = mkdtempSync(join(tmpdir(), 'tutorial-kv-ratls-'));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

const dcap = tutorialDcap('tutorial-kv-ratls-test');
const collateral: RawCollateral = dcap.collateral(dcap.platform('up-to-date'));
const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
  rmSync(root, { recursive: true, force: true });
});

function client(url: string, mrEnclave: string, seen?: RatlsVerification[]): KvClient {
  const c = kvClient({
    url,
    mrEnclave,
    collateral,
    simulatedRootPem: dcap.rootPem,
    ...(seen === undefined ? {} : { onVerified: (r: RatlsVerification) => seen.push(r) }),
  });
  open.push(c);
  return c;
}

async function service(
  dataDir: string,
  requests: string[] = [],
  definition?: string | ReturnType<typeof enclaveImage>,
): Promise<KvService> {
  const s = await startKvService({
    dataDir,
    dcap,
    onRequest: (method, path) => requests.push(`${method} ${path}`),
    ...(definition === undefined ? {} : { definition }),
  });
  open.push(s);
  return s;
}

/** fetch rejects with a TypeError whose cause is the connector's (the RA-TLS verifier's) error. */
function refusedWith(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    const cause = (err as { cause?: { code?: string } }).cause;
    assert.equal(cause?.code, code, String(err));
    return true;
  };
}

/** The tutorial enclave with one more line in kv.js: another MRENCLAVE. */
async function modifiedEnclave(): Promise<ReturnType<typeof enclaveImage>> {
  const original = await loadEnclaveImage(KV_DEFINITION);
  const entry = original.files.get('kv.js') ?? new Uint8Array();
  return enclaveImage(original.definition, {
    'kv.js': Buffer.concat([entry, Buffer.from('\n// a modified build\n')]),
  });
}

describe('the tutorial key-value service over RA-TLS', () => {
  let expected: string;
  before(async () => {
    expected = await expectedMrEnclave();
  });

  test('the pinned client stores and reads values; sealed data survives a restart of the service', async () => {
    const dir = join(root, 'restart');
    const first = await service(dir);
    // The MRENCLAVE the client computed from the source is the running enclave's.
    assert.equal(first.mrEnclave, expected);
    const seen: RatlsVerification[] = [];
    const c1 = client(first.url, expected, seen);
    await c1.put('greeting', bytes('hello over RA-TLS'));
    assert.equal(text(await c1.get('greeting')), 'hello over RA-TLS');
    assert.equal(await c1.get('missing'), null);
    assert.ok(seen.length >= 1);
    const identity = seen[0]?.identity;
    assert.ok(identity !== undefined && identity.tee === 'SGX');
    assert.equal(identity.mrEnclave, expected);

    // The certificate: ego format, the key bound as SHA-256(SPKI), a quote that verifies.
    const verified = verifyRatlsCertificate(first.certificatePem, {
      collateral,
      now: new Date(),
      trustSimulatedRoot: dcap.rootPem,
      expected: { mrEnclave: expected },
    });
    assert.equal(verified.format, 'ego');
    assert.equal(verified.keyBinding, 'spki-sha256');

    // Bad input is refused by the service and the typed interface, not stored.
    await assert.rejects(c1.put('k'.repeat(65), bytes('v')), /HTTP 400 ERR_ENCLAVE_CALL_SIZE/);
    await assert.rejects(c1.put('big', new Uint8Array(4097)), /HTTP 413/);
    assert.equal(await c1.get('big'), null);

    await first.close();
    assert.equal(readFileSync(join(dir, 'kv.sealed')).includes(Buffer.from('hello over RA-TLS')), false);

    const second = await service(dir);
    // A new TLS key (and certificate) per start; the same enclave, the same sealed store.
    assert.notEqual(second.certificatePem, first.certificatePem);
    const c2 = client(second.url, expected);
    assert.equal(text(await c2.get('greeting')), 'hello over RA-TLS');
  });

  test('a client pinned to another MRENCLAVE refuses the connection and sends no request', async () => {
    const requests: string[] = [];
    const s = await service(join(root, 'pinned-other'), requests);
    const other = client(s.url, await expectedMrEnclave(await modifiedEnclave()));
    await assert.rejects(other.put('intruder', bytes('x')), refusedWith('ERR_RATLS_MRENCLAVE_MISMATCH'));
    await assert.rejects(other.get('intruder'), refusedWith('ERR_RATLS_MRENCLAVE_MISMATCH'));
    assert.deepEqual(requests, []);
    // The right client confirms nothing arrived.
    assert.equal(await client(s.url, expected).get('intruder'), null);
    assert.deepEqual(requests, ['GET /kv/intruder']);
  });

  test('a service built from a modified enclave is refused by the pinned client', async () => {
    const requests: string[] = [];
    const image = await modifiedEnclave();
    const s = await service(join(root, 'modified'), requests, image);
    assert.notEqual(s.mrEnclave, expected);
    await assert.rejects(
      client(s.url, expected).put('k', bytes('v')),
      refusedWith('ERR_RATLS_MRENCLAVE_MISMATCH'),
    );
    assert.deepEqual(requests, []);
    // Its quote is otherwise valid: a client pinned to the modified build's measurement accepts it.
    assert.equal(s.mrEnclave, await expectedMrEnclave(image));
    await client(s.url, s.mrEnclave).put('k', bytes('v'));
    assert.deepEqual(requests, ['PUT /kv/k']);
  });

  test('a client trusting another simulated root refuses the service', async () => {
    const requests: string[] = [];
    const s = await service(join(root, 'other-root'), requests);
    const elsewhere = tutorialDcap('another-simulated-infrastructure');
    const c = kvClient({
      url: s.url,
      mrEnclave: expected,
      collateral: elsewhere.collateral(elsewhere.platform('up-to-date')),
      simulatedRootPem: elsewhere.rootPem,
    });
    open.push(c);
    await assert.rejects(c.get('k'), (err: unknown) => {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
      assert.match(code, /^ERR_VERIFY_/, String(err));
      return true;
    });
    assert.deepEqual(requests, []);
  });
});

describe('the tutorial commands, run as programs', () => {
  const run = promisify(execFile);
  const tsx = (file: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', join('examples', 'hello-enclave', 'kv', file), ...args], {
      cwd: REPO_ROOT,
    });

  /** Starts server.ts on a free port; resolves with its URL and a stop function (SIGTERM to that pid). */
  async function startServer(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join('examples', 'hello-enclave', 'kv', 'server.ts'), dir, '--port', '0'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    open.push({ close: stop });
    const lines = createInterface({ input: child.stdout });
    for await (const line of lines) {
      const m = /^serving (https:\/\/\S+) /.exec(line);
      if (m?.[1] !== undefined) return { url: m[1], stop };
    }
    throw new Error('server.ts exited before serving');
  }

  test('server.ts and client.ts: measure, put, get; a wrong MRENCLAVE exits 1 with the RA-TLS code', async () => {
    const dir = join(root, 'programs');
    const [server, { stdout: measured }] = await Promise.all([
      startServer(dir),
      tsx('client.ts', ['measure']),
    ]);
    const mrenclave = measured.trim();
    assert.match(mrenclave, /^[0-9a-f]{64}$/);
    const trust = ['--collateral', join(dir, 'collateral.json'), '--root', join(dir, 'sim-root.pem')];
    await tsx('client.ts', [server.url, '--mrenclave', mrenclave, ...trust, 'put', 'city', 'Zürich']);
    const [{ stdout }] = await Promise.all([
      tsx('client.ts', [server.url, '--mrenclave', mrenclave, ...trust, 'get', 'city']),
      assert.rejects(
        tsx('client.ts', [server.url, '--mrenclave', '00'.repeat(32), ...trust, 'get', 'city']),
        (err: { code?: number; stderr?: string }) => {
          assert.equal(err.code, 1);
          assert.match(String(err.stderr), /ERR_RATLS_MRENCLAVE_MISMATCH/);
          return true;
        },
      ),
    ]);
    assert.equal(stdout, 'Zürich\n');
    await server.stop();
  });
});
