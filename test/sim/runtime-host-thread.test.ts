/**
 * An enclave on the host's own thread (`startEnclave({ thread: 'host' })`, what the container
 * launcher uses): no worker thread is started (a prestarted one handed in is released), the same
 * message limits apply as in a worker of the same heap size, `terminate()` rejects what is pending
 * and drops the runtime, and a host enclave that is never terminated does not keep the process
 * alive. test/sim/runtime.test.ts runs every runtime property in both placements.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  prestartEnclaveWorker,
  signEnclave,
  SimCpu,
  startEnclave,
  type RunningEnclave,
} from '../../src/sim/index.ts';
import { runModuleScript } from '../support/child-module.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { makeImage, sign, signingKeys } from './enclave-fixtures.ts';

const running: RunningEnclave[] = [];
after(async () => {
  for (const e of running) await e.terminate();
});

async function startHost(
  files: Record<string, string> = {},
  def: Record<string, unknown> = {},
  ocalls: Record<string, (...args: unknown[]) => unknown> = {},
): Promise<RunningEnclave> {
  const image = makeImage(def, files);
  const e = await startEnclave({
    thread: 'host',
    cpu: SimCpu.fromSeed('host-thread'),
    image,
    sigstruct: sign(image),
    ocalls,
  });
  running.push(e);
  return e;
}

describe('enclave on the host thread', () => {
  test(
    'starts no worker thread: the process has as many threads before and after',
    { skip: process.platform !== 'linux' && 'counts threads in /proc/self/status' },
    async () => {
      const threads = (): number =>
        Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
      // Warm up whatever a first start touches (crypto, the thread pool) with a first enclave.
      await startHost();
      const before = threads();
      const e = await startHost({ 'main.js': "enclave.ecall('ping', function (x) { return x + 1; });\n" });
      assert.equal(await e.ecall('ping', 1), 2);
      assert.equal(threads(), before);
      // A worker start, by contrast, adds one while it runs.
      const image = makeImage();
      const w = await startEnclave({ cpu: SimCpu.fromSeed('host-thread'), image, sigstruct: sign(image) });
      running.push(w);
      assert.equal(threads(), before + 1);
    },
  );

  test('a prestarted worker handed to a host start is released, not used', { timeout: 10_000 }, async () => {
    const image = makeImage();
    const worker = prestartEnclaveWorker({ heapPages: image.definition.heapPages });
    const exited = new Promise<number>((resolve) => worker.worker.once('exit', resolve));
    const e = await startEnclave({
      thread: 'host',
      cpu: SimCpu.fromSeed('host-thread'),
      image,
      sigstruct: sign(image),
      worker,
    });
    running.push(e);
    assert.equal(typeof (await exited), 'number', 'the worker thread ended');
    assert.equal(await e.ecall('ping', 7), 7);
  });

  test('the message limit of its heap size applies as in a worker (ERR_ENCLAVE_ECALL, nothing sent)', async () => {
    // heapPages 4 → the 32 MB minimum → 8 Mi characters; 4 Mi bytes travel as 8 Mi hex characters.
    const e = await startHost({}, { heapPages: 4 });
    await assert.rejects(e.ecall('ping', new Uint8Array(4 * 1024 * 1024)), {
      code: 'ERR_ENCLAVE_ECALL',
      message: /exceed the 8388608 the enclave heap can take/,
    });
    assert.equal(await e.ecall('ping', 3), 3);
  });

  test('terminate() rejects a pending ECALL and every later one with ERR_ENCLAVE_RUNTIME', async () => {
    let calledOut!: () => void;
    const reached = new Promise<void>((resolve) => (calledOut = resolve));
    const e = await startHost(
      { 'main.js': "enclave.ecall('wait', function () { return enclave.ocall('never'); });\n" },
      { ecalls: ['wait'], ocalls: ['never'] },
      {
        never: () => {
          calledOut();
          return new Promise(() => undefined);
        },
      },
    );
    const pending = e.ecall('wait');
    await reached;
    await e.terminate();
    await assert.rejects(pending, { code: 'ERR_ENCLAVE_RUNTIME', message: /terminated/ });
    await assert.rejects(e.ecall('wait'), { code: 'ERR_ENCLAVE_RUNTIME' });
  });

  test('an entry module that throws fails the start with ERR_ENCLAVE_RUNTIME and leaves the host running', async () => {
    await assert.rejects(startHost({ 'main.js': "throw new Error('top-level failure');\n" }), {
      code: 'ERR_ENCLAVE_RUNTIME',
      message: /top-level failure/,
    });
    const e = await startHost();
    assert.equal(await e.ecall('ping', 'still here'), 'still here');
  });

  test('a host enclave never terminated, even with a pending OCALL answered, lets the process exit', async () => {
    const script = [
      `import { SimCpu, startEnclave, enclaveImage, validateEnclaveDefinition, signEnclave } from ${JSON.stringify(join(REPO_ROOT, 'src', 'sim', 'index.ts'))};`,
      "const def = validateEnclaveDefinition({ name: 'x', enclaveSize: '64K', heapPages: 1, stackPages: 1, entry: 'm.js', files: ['m.js'], ecalls: ['p'], ocalls: ['o'] });",
      "const image = enclaveImage(def, { 'm.js': \"enclave.ecall('p', async function () { return 1 + (await enclave.ocall('o')); });\" });",
      `const e = await startEnclave({ thread: 'host', cpu: SimCpu.fromSeed('x'), image, sigstruct: signEnclave(image, ${JSON.stringify(signingKeys().a)}).bytes, ocalls: { o: () => 41 } });`,
      "console.log(await e.ecall('p'));",
    ].join('\n');
    const { code, stdout } = await runModuleScript(script);
    assert.equal(code, 0, 'the process exited by itself');
    assert.equal(stdout, '42');
  });

  test('the same image measures and identifies the same in both placements', async () => {
    const image = makeImage(
      { ecalls: ['who'] },
      { 'main.js': "enclave.ecall('who', function () { return enclave.identity().mrEnclave; });\n" },
    );
    const cpu = SimCpu.fromSeed('host-thread-identity');
    const sigstruct = signEnclave(image, signingKeys().a).bytes;
    const host = await startEnclave({ thread: 'host', cpu, image, sigstruct });
    const worker = await startEnclave({ thread: 'worker', cpu, image, sigstruct });
    running.push(host, worker);
    assert.deepEqual(await host.ecall('who'), await worker.ecall('who'));
    assert.deepEqual(host.enclave.mrEnclave, worker.enclave.mrEnclave);
  });
});
