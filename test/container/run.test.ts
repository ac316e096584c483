/**
 * `container run` (the launcher) with the three unmodified example programs against a real
 * attestation service: each program receives its secret only after attestation and release, and
 * every failure mode stops the launch before the program runs and before anything is written.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CompactEncrypt } from 'jose';
import { createSimProvider, silentLogger, startQuoteHelper } from '../../src/node/quote-helper/index.ts';
import {
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  SimCpu,
} from '../../src/sim/index.ts';
import { putSecretAsAdmin, startService, type Started } from '../attestation/support.ts';
import {
  leftovers,
  policyFor,
  prepareExample,
  run,
  scratch,
  SIM_SEED,
  type RunRecord,
  type Scratch,
} from './support.ts';

const DB_PASSWORD = 'hunter2-but-longer-for-the-db';
const HMAC_KEY = 'hmac key for the quarterly report';
const API_TOKEN = 'api-token-7f3c9d';
const INPUT_KEY = createHash('sha256').update('input key of the container tests').digest();
const INPUT = 'region,units\nnorth,12\nsouth,30\n';

let svc: Started;
let s: Scratch;

before(async () => {
  [svc, s] = await Promise.all([startService(), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close()]);
});

/** INPUT encrypted as the launcher expects encrypted inputs: compact JWE, dir + A256GCM. */
function encryptInput(): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(INPUT))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(INPUT_KEY);
}

const sha256 = (x: string | Uint8Array): string => createHash('sha256').update(x).digest('hex');

async function putSecret(name: string, value: string, mrenclaves: string[]): Promise<void> {
  const policy = {
    version: '1.0.0',
    anyOf: mrenclaves.map((m) => (policyFor(svc.url, m) as { anyOf: unknown[] }).anyOf[0]),
  };
  assert.equal(await putSecretAsAdmin(svc.url, name, value, policy), 201);
}

function assertOrder(events: readonly string[], ...prefixes: string[]): void {
  let last = -1;
  for (const p of prefixes) {
    const i = events.findIndex((e) => e.startsWith(p));
    assert.ok(i > last, `"${p}" after the previous step in:\n${events.join('\n')}`);
    last = i;
  }
}

/** The program did not run and nothing was left behind; no secret in the launcher's output. */
async function assertStopped(r: RunRecord, code: string, marker?: string): Promise<void> {
  assert.equal(r.error?.code, code, `${r.error?.message ?? 'no error'}\n${r.events.join('\n')}`);
  assert.ok(!r.events.includes('spawned'), 'the program was not started');
  if (marker !== undefined) assert.ok(!existsSync(marker), 'the program left no marker');
  assert.deepEqual(await leftovers(s), [], 'no private directory left');
  for (const secret of [DB_PASSWORD, HMAC_KEY, API_TOKEN]) {
    assert.ok(!r.events.join('\n').includes(secret));
    assert.ok(!r.error.message.includes(secret));
  }
}

async function waitFor(path: string, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) {
      const text = await readFile(path, 'utf8');
      if (text !== '') return text;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear within ${ms} ms`);
}

test('Node.js service: DB_PASSWORD arrives in its environment after attestation; SIGTERM and exit status pass through', async () => {
  const app = await prepareExample(s, 'node-db-service');
  await putSecret('db-password', DB_PASSWORD, [app.sig.mrenclave]);
  const ready = join(s.dir, 'node-ready.json');
  let health: Record<string, unknown> = {};
  const r = await run(s, {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { READY_FILE: ready },
    onSpawn: (child) => {
      void (async () => {
        const { port } = JSON.parse(await waitFor(ready)) as { port: number };
        health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>;
        child.kill('SIGTERM');
      })();
    },
  });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 0);
  assert.equal(r.result.mrenclave, app.sig.mrenclave);
  assert.equal(health['passwordSha256'], sha256(DB_PASSWORD));
  assertOrder(
    r.events,
    'trusted files',
    'launched',
    'quote:',
    'attested',
    'released: db-password',
    'spawned',
    'program: db-service: listening',
  );
  assert.ok(r.stderr.includes('SIGTERM, shutting down'));
  assert.ok(!r.events.join('\n').includes(DB_PASSWORD), 'the launcher never logs the secret');
  assert.deepEqual(await leftovers(s), []);
});

test('Python script: the key file exists only in the private directory, after release; a release policy it does not meet stops it', async () => {
  const app = await prepareExample(s, 'python-key-reader');
  const out = join(s.dir, 'py-signature.txt');
  // First the secret is stored for another enclave: the service refuses to release it.
  await putSecret('report-hmac-key', HMAC_KEY, ['00'.repeat(32)]);
  const denied = await run(s, {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { OUTPUT_FILE: out },
  });
  await assertStopped(denied, 'ERR_ATTESTATION_CLIENT_REFUSED', out);
  assert.equal(denied.error?.details['serviceCode'], 'ERR_SECRET_POLICY_DENIED');
  // Stored for this app's MRENCLAVE: released, and the script signs with it.
  await putSecret('report-hmac-key', HMAC_KEY, [app.sig.mrenclave]);
  const r = await run(s, {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { OUTPUT_FILE: out },
  });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 0);
  const { createHmac } = await import('node:crypto');
  const report = await readFile(join(app.appDir, 'report.txt'));
  assert.equal(
    (await readFile(out, 'utf8')).trim(),
    createHmac('sha256', HMAC_KEY).update(report).digest('hex'),
  );
  assertOrder(
    r.events,
    'attested',
    'released: report-hmac-key',
    'private directory',
    'spawned',
    'program: sign_report: signed',
  );
  assert.deepEqual(await leftovers(s), [], 'the key file is wiped with the private directory');
});

test('shell program: env secret, encrypted input and sealed state; state survives a restart, exit status propagates', async () => {
  const app = await prepareExample(s, 'shell-report');
  await writeFile(join(app.appDir, 'input.csv.jwe'), await encryptInput());
  await putSecret('report-api-token', API_TOKEN, [app.sig.mrenclave]);
  await putSecret('input-key', INPUT_KEY.toString('hex'), [app.sig.mrenclave]);
  const result = join(s.dir, 'shell-result.txt');
  const first = await run(s, {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { RESULT_FILE: result },
  });
  assert.equal(first.error, undefined, first.error?.message);
  assert.equal(first.result?.exitCode, 0);
  assert.equal(await readFile(result, 'utf8'), `lines=3 runs=1 token_sha256=${sha256(API_TOKEN)}\n`);
  assertOrder(
    first.events,
    'attested',
    'released: report-api-token, input-key',
    'spawned',
    'program: count: 3 lines, run 1',
    'sealed state saved',
  );
  const blob = await readFile(join(app.appDir, 'state', 'state.sealed'));
  assert.ok(!blob.toString('latin1').includes('"files"'), 'the state is encrypted at rest');
  // Restart: the same identity unseals the state; a program's exit status is the launcher's.
  const second = await run(s, {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { RESULT_FILE: result, EXIT_STATUS: '7' },
  });
  assert.equal(second.error, undefined, second.error?.message);
  assert.equal(second.result?.exitCode, 7);
  assert.match(await readFile(result, 'utf8'), /^lines=3 runs=2 /);
  assert.deepEqual(await leftovers(s), []);
  const saved = await readFile(join(app.appDir, 'state', 'state.sealed'));

  // A changed app (new MRENCLAVE, same signer) under the MRENCLAVE policy cannot read the state,
  // even with its secrets released to it: it is refused before the program runs.
  await appendFile(join(app.appDir, 'count.sh'), '# changed\n');
  const changed = await prepareExample(s, 'shell-report');
  assert.notEqual(changed.sig.mrenclave, app.sig.mrenclave);
  await putSecret('report-api-token', API_TOKEN, [app.sig.mrenclave, changed.sig.mrenclave]);
  await putSecret('input-key', INPUT_KEY.toString('hex'), [app.sig.mrenclave, changed.sig.mrenclave]);
  const marker = join(s.dir, 'shell-changed.txt');
  const refused = await run(s, {
    manifestPath: changed.manifest,
    sigPath: changed.sigPath,
    attestationUrl: svc.url,
    env: { RESULT_FILE: marker },
  });
  await assertStopped(refused, 'ERR_CONTAINER_SEALED_STATE', marker);
  assert.deepEqual(
    await readFile(join(app.appDir, 'state', 'state.sealed')),
    saved,
    'the sealed state is untouched',
  );
});

test('sealed state under the MRSIGNER policy follows the signer: the next version of the app reads it', async () => {
  const appDir = join(s.dir, 'examples', 'shell-report');
  const yaml = join(appDir, 'app.yaml');
  await writeFile(
    yaml,
    (await readFile(yaml, 'utf8'))
      .replace('policy: MRENCLAVE', 'policy: MRSIGNER')
      .replace('dir: state', 'dir: state-signer'),
  );
  await writeFile(join(appDir, 'input.csv.jwe'), await encryptInput());
  const result = join(s.dir, 'signer-result.txt');
  const v1 = await prepareExample(s, 'shell-report');
  await putSecret('report-api-token', API_TOKEN, [v1.sig.mrenclave]);
  await putSecret('input-key', INPUT_KEY.toString('hex'), [v1.sig.mrenclave]);
  const r1 = await run(s, {
    manifestPath: v1.manifest,
    sigPath: v1.sigPath,
    attestationUrl: svc.url,
    env: { RESULT_FILE: result },
  });
  assert.equal(r1.error, undefined, r1.error?.message);
  assert.match(await readFile(result, 'utf8'), / runs=1 /);
  await appendFile(join(appDir, 'count.sh'), '# next version\n');
  const v2 = await prepareExample(s, 'shell-report');
  assert.notEqual(v2.sig.mrenclave, v1.sig.mrenclave);
  await putSecret('report-api-token', API_TOKEN, [v1.sig.mrenclave, v2.sig.mrenclave]);
  await putSecret('input-key', INPUT_KEY.toString('hex'), [v1.sig.mrenclave, v2.sig.mrenclave]);
  const r2 = await run(s, {
    manifestPath: v2.manifest,
    sigPath: v2.sigPath,
    attestationUrl: svc.url,
    env: { RESULT_FILE: result },
  });
  assert.equal(r2.error, undefined, r2.error?.message);
  assert.match(await readFile(result, 'utf8'), / runs=2 /);
});

test('failure modes stop the launch before the program runs, and nothing is written', async (t) => {
  const app = await prepareExample(s, 'node-db-service');
  await putSecret('db-password', DB_PASSWORD, [app.sig.mrenclave]);
  const marker = join(s.dir, 'node-marker.json');
  // Should a check regress and the service start anyway, stop it at once: the test then fails
  // on its assertions instead of waiting on a running server.
  const base = {
    manifestPath: app.manifest,
    sigPath: app.sigPath,
    attestationUrl: svc.url,
    env: { READY_FILE: marker },
    onSpawn: (child: ChildProcess) => {
      child.kill('SIGKILL');
    },
  };

  await t.test(
    'attestation service unreachable: bounded retries, then ERR_ATTESTATION_CLIENT_UNREACHABLE',
    async () => {
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as { port: number }).port;
      await new Promise<void>((r) => {
        probe.close(() => {
          r();
        });
      });
      const r = await run(s, {
        ...base,
        attestationUrl: `http://127.0.0.1:${port}`,
        retry: { attempts: 3, baseDelayMs: 10 },
      });
      await assertStopped(r, 'ERR_ATTESTATION_CLIENT_UNREACHABLE', marker);
      assert.equal(r.error?.details['attempts'], 3);
      assert.equal(
        r.events.filter((e) => e.startsWith('attestation service:')).length,
        2,
        'two retries logged',
      );
    },
  );

  await t.test(
    'evidence refused by the service (revoked TCB platform): ERR_ATTESTATION_CLIENT_REFUSED',
    async () => {
      const r = await run(s, {
        ...base,
        platform: { simSeed: 'ccnodes-attestation-test-support', simPlatform: 'revoked' },
      });
      await assertStopped(r, 'ERR_ATTESTATION_CLIENT_REFUSED', marker);
    },
  );

  await t.test('a trusted file changed: ERR_CONTAINER_TRUSTED_FILE_CHANGED naming the file', async () => {
    const server = join(app.appDir, 'server.js');
    const original = await readFile(server);
    await appendFile(server, '\n// injected\n');
    try {
      const r = await run(s, base);
      await assertStopped(r, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED', marker);
      assert.equal(r.error?.details['path'], 'server.js');
      assert.equal(r.error.details['change'], 'modified');
      assert.match(r.error.message, /server\.js/);
    } finally {
      await writeFile(server, original);
    }
  });

  await t.test('the manifest changed after prepare: ERR_CONTAINER_IDENTITY_MISMATCH', async () => {
    const yaml = join(app.appDir, 'app.yaml');
    const original = await readFile(yaml, 'utf8');
    await writeFile(yaml, original.replace('NODE_ENV: production', 'NODE_ENV: development'));
    try {
      await assertStopped(await run(s, base), 'ERR_CONTAINER_IDENTITY_MISMATCH', marker);
    } finally {
      await writeFile(yaml, original);
    }
  });

  await t.test(
    'a token signed by a key the manifest does not pin: ERR_ATTESTATION_CLIENT_TOKEN',
    async () => {
      const yaml = join(app.appDir, 'app.yaml');
      const original = await readFile(yaml, 'utf8');
      await writeFile(
        yaml,
        original.replace(
          '  url: http://127.0.0.1:8443',
          `  url: http://127.0.0.1:8443\n  pinnedKeys: ['${'ab'.repeat(32)}']`,
        ),
      );
      try {
        const pinned = await prepareExample(s, 'node-db-service', undefined, 'node-db-service-pinned');
        const r = await run(s, { ...base, manifestPath: pinned.manifest, sigPath: pinned.sigPath });
        await assertStopped(r, 'ERR_ATTESTATION_CLIENT_TOKEN', marker);
        assert.equal(r.error?.details['check'], 'pinned-key');
      } finally {
        await writeFile(yaml, original);
      }
    },
  );

  await t.test('the same tree still runs afterwards (control)', async () => {
    const r = await run(s, {
      ...base,
      onSpawn: (child) => {
        void waitFor(marker).then(() => child.kill('SIGTERM'));
      },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.result?.exitCode, 0);
  });
});

/** A quote helper (AESM socket) on the simulated platform of `cpuSeed`, quoting for the deployment of SIM_SEED. */
async function quoteHelper(cpuSeed: string): Promise<{ socket: string; close: () => Promise<void> }> {
  const cpu = SimCpu.fromSeed(cpuSeed);
  const qe = cpu.launchArchitectural({
    mrEnclave: SIM_QE_MRENCLAVE,
    mrSigner: SIM_QE_MRSIGNER,
    attributes: SIM_QE_ATTRIBUTES,
    isvProdId: SIM_QE_ISVPRODID,
  });
  const provider = await createSimProvider({
    seed: SIM_SEED,
    verifyReport: (report) => {
      cpu.verifyReport(qe, report);
    },
    makeQeReport: (target, reportData) => cpu.ereport(qe, target, reportData),
  });
  const socket = join(s.dir, `aesm-${cpuSeed.length}.socket`);
  const helper = await startQuoteHelper({ socketPath: socket, provider, logger: silentLogger() });
  return { socket, close: () => helper.close(100) };
}

test("quoting through the node quote helper's AESM socket; a quoting enclave of another platform refuses the report", async () => {
  const app = await prepareExample(s, 'node-db-service', undefined, 'node-aesm');
  await putSecret('db-password', DB_PASSWORD, [app.sig.mrenclave]);
  const ready = join(s.dir, 'aesm-ready.json');
  const same = await quoteHelper(SIM_SEED);
  try {
    const r = await run(s, {
      manifestPath: app.manifest,
      sigPath: app.sigPath,
      attestationUrl: svc.url,
      platform: { simSeed: SIM_SEED, aesmSocket: same.socket },
      env: { READY_FILE: ready },
      onSpawn: (child) => {
        void waitFor(ready).then(() => child.kill('SIGTERM'));
      },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(
      r.events.some((e) => e.startsWith('quote:') && e.includes(`aesm:${same.socket}`)),
      r.events.join('\n'),
    );
    assert.equal(r.result?.exitCode, 0);
  } finally {
    await same.close();
  }
  const other = await quoteHelper('another simulated platform');
  const marker = join(s.dir, 'aesm-never.json');
  try {
    const r = await run(s, {
      manifestPath: app.manifest,
      sigPath: app.sigPath,
      attestationUrl: svc.url,
      platform: { simSeed: SIM_SEED, aesmSocket: other.socket },
      env: { READY_FILE: marker },
      onSpawn: (child) => {
        child.kill('SIGKILL');
      },
    });
    await assertStopped(r, 'ERR_CONTAINER_QUOTE', marker);
  } finally {
    await other.close();
  }
});
