/**
 * Enclave workers started ahead of their enclave (`prestartEnclaveWorker`): the worker thread boots
 * while the host prepares the enclave, holds nothing until `startEnclave` hands it one, runs that
 * enclave exactly as a fresh worker would, is used once, and never keeps the process alive.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  enclaveWorkerHeapMb,
  prestartEnclaveWorker,
  SimCpu,
  startEnclave,
  type RunningEnclave,
} from '../../src/sim/index.ts';
import { runModuleScript } from '../support/child-module.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { makeImage, sign, signingKeys } from './enclave-fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const running: RunningEnclave[] = [];
after(async () => {
  for (const e of running) await e.terminate();
});

describe('prestarted enclave workers', () => {
  test('an enclave started in a prestarted worker runs like one in a fresh worker', async () => {
    const image = makeImage(
      { ecalls: ['ping', 'who'] },
      {
        'main.js':
          "enclave.ecall('ping', function (x) { return x; });\n" +
          "enclave.ecall('who', function () { return enclave.identity().mrEnclave; });\n",
      },
    );
    const cpu = SimCpu.fromSeed('prestart');
    const worker = prestartEnclaveWorker({ heapPages: image.definition.heapPages });
    const a = await startEnclave({ cpu, image, sigstruct: sign(image), worker });
    running.push(a);
    const b = await startEnclave({ cpu, image, sigstruct: sign(image) });
    running.push(b);
    assert.equal(await a.ecall('ping', 41), 41);
    assert.deepEqual(await a.ecall('ping', new Uint8Array([1, 2])), new Uint8Array([1, 2]));
    assert.equal(hex((await a.ecall('who')) as Uint8Array), hex(a.enclave.mrEnclave));
    assert.equal(hex((await b.ecall('who')) as Uint8Array), hex(a.enclave.mrEnclave));
  });

  test('a worker is used once: a second start with it gets a fresh worker of its own', async () => {
    const image = makeImage();
    const cpu = SimCpu.fromSeed('prestart-once');
    const worker = prestartEnclaveWorker({ heapPages: image.definition.heapPages });
    const first = await startEnclave({ cpu, image, sigstruct: sign(image), worker });
    running.push(first);
    const second = await startEnclave({ cpu, image, sigstruct: sign(image), worker });
    running.push(second);
    // Two enclaves, two workers: stopping one leaves the other running.
    await first.terminate();
    await assert.rejects(first.ecall('ping', 1), { code: 'ERR_ENCLAVE_RUNTIME' });
    assert.equal(await second.ecall('ping', 2), 2);
  });

  test('a worker made for another heap size is not used (and is stopped); the enclave still starts', async () => {
    const image = makeImage({ heapPages: 4 });
    assert.equal(enclaveWorkerHeapMb(4), 32);
    const worker = prestartEnclaveWorker({ heapPages: 64 * 1024 });
    assert.equal(worker.heapMb, enclaveWorkerHeapMb(64 * 1024));
    assert.notEqual(worker.heapMb, enclaveWorkerHeapMb(4));
    const exited = new Promise<number>((resolve) => worker.worker.once('exit', resolve));
    const e = await startEnclave({ cpu: SimCpu.fromSeed('heap'), image, sigstruct: sign(image), worker });
    running.push(e);
    assert.equal(await e.ecall('ping', 3), 3);
    await exited;
  });

  test('a failed EINIT leaves the prestarted worker unused; release() stops it', async () => {
    const image = makeImage();
    const other = makeImage({}, { 'main.js': "enclave.ecall('ping', function () { return 0; });\n" });
    const worker = prestartEnclaveWorker({ heapPages: image.definition.heapPages });
    await assert.rejects(
      startEnclave({ cpu: SimCpu.fromSeed('einit'), image, sigstruct: sign(other), worker }),
      { code: 'ERR_EINIT_MRENCLAVE' },
    );
    const exited = new Promise<number>((resolve) => worker.worker.once('exit', resolve));
    await worker.release();
    await exited;
    // Released: a start with it now gets a fresh worker.
    const e = await startEnclave({ cpu: SimCpu.fromSeed('einit'), image, sigstruct: sign(image), worker });
    running.push(e);
    assert.equal(await e.ecall('ping', 4), 4);
  });

  test('until it is handed an enclave, the worker runs nothing it is sent but a start message', async () => {
    const worker = prestartEnclaveWorker();
    const reply = new Promise<unknown>((resolve) => worker.worker.once('message', resolve));
    worker.worker.postMessage({ type: 'ecall', id: 1, name: 'ping', args: '[1]' });
    assert.deepEqual(await reply, {
      type: 'failed',
      message: 'the enclave worker expected a start message',
    });
    await worker.release();
  });

  test('a prestarted worker never used does not keep the process alive', async () => {
    const sim = JSON.stringify(join(REPO_ROOT, 'src', 'sim', 'index.ts'));
    const { code, stdout: out } = await runModuleScript(
      `import { prestartEnclaveWorker } from ${sim};\nprestartEnclaveWorker();\nconsole.log('started');`,
    );
    assert.equal(code, 0, 'the process exited by itself');
    assert.equal(out, 'started');
  });

  test('an enclave in a prestarted worker, never terminated, does not keep the process alive', async () => {
    const script = [
      `import { SimCpu, startEnclave, prestartEnclaveWorker, enclaveImage, validateEnclaveDefinition, signEnclave } from ${JSON.stringify(join(REPO_ROOT, 'src', 'sim', 'index.ts'))};`,
      'const worker = prestartEnclaveWorker({ heapPages: 1 });',
      "const def = validateEnclaveDefinition({ name: 'x', enclaveSize: '64K', heapPages: 1, stackPages: 1, entry: 'm.js', files: ['m.js'], ecalls: ['p'] });",
      "const image = enclaveImage(def, { 'm.js': \"enclave.ecall('p', function () { return 1; });\" });",
      `const e = await startEnclave({ cpu: SimCpu.fromSeed('x'), image, sigstruct: signEnclave(image, ${JSON.stringify(signingKeys().a)}).bytes, worker });`,
      "console.log(await e.ecall('p'));",
    ].join('\n');
    const { code, stdout: out } = await runModuleScript(script);
    assert.equal(code, 0, 'the process exited by itself');
    assert.equal(out, '1');
  });
});
