/**
 * The enclave runtime: the entry module (read back from the measured pages) runs in a worker, or on
 * the host's thread, with only the enclave API; ECALLs/OCALLs cross a declared interface; what runs
 * is exactly what was measured; and the enclave code cannot reach require, process, import() or
 * code generation.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runModuleScript } from '../support/child-module.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadEnclaveImage,
  measureEnclave,
  readMeasuredFile,
  SimCpu,
  startEnclave,
  type RunningEnclave,
} from '../../src/sim/index.ts';
import { CompactEncrypt, importJWK } from 'jose';
import { encodeTargetInfo } from '../../src/core/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { makeImage, sign, signingKeys } from './enclave-fixtures.ts';
import { signEnclave } from '../../src/sim/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const running: RunningEnclave[] = [];
after(async () => {
  for (const e of running) await e.terminate();
});

const PROBE = `
enclave.ecall('probe', async function () {
  var out = {};
  out.require = typeof require;
  out.process = typeof process;
  out.Buffer = typeof Buffer;
  out.setTimeout = typeof setTimeout;
  out.module = typeof module;
  out.enclave = typeof enclave;
  try { eval('1'); out.eval = 'allowed'; } catch (e) { out.eval = e.name; }
  try { new Function('return 1'); out.Function = 'allowed'; } catch (e) { out.Function = e.name; }
  try { out.escape = typeof enclave.ecall.constructor('return process')(); } catch (e) { out.escape = e.name; }
  try { await import('node:fs'); out.import = 'allowed'; } catch (e) { out.import = e.name; }
  try { enclave.ecall = null; } catch (e) { /* frozen */ }
  out.frozen = typeof enclave.ecall === 'function';
  var leaked = [];
  Error.prepareStackTrace = function (e, frames) { return frames; };
  try {
    var frames = new Error('x').stack;
    if (Array.isArray(frames)) for (var i = 0; i < frames.length; i++) {
      var f = frames[i].getFunction && frames[i].getFunction();
      if (f && !(f instanceof Object)) leaked.push(String(frames[i].getFunctionName()) + '@' + String(frames[i].getFileName()));
    }
  } catch (e) { /* no structured frames */ }
  Error.prepareStackTrace = undefined;
  out.leakedOuterFunctions = leaked.length;
  return out;
});
`;

// Every property holds wherever the runtime runs: in a worker thread of its own (the default), and
// on the host's thread (`thread: 'host'`, what the container launcher uses).
for (const thread of ['worker', 'host'] as const)
  describe(`enclave runtime (thread: ${thread})`, () => {
    async function start(
      files: Record<string, string>,
      def: Record<string, unknown> = {},
      cpu = SimCpu.fromSeed('runtime'),
      ocalls: Record<string, (...args: unknown[]) => unknown> = {},
    ): Promise<RunningEnclave> {
      const image = makeImage(def, files);
      const e = await startEnclave({ thread, cpu, image, sigstruct: sign(image), ocalls });
      running.push(e);
      return e;
    }

    test('hello-enclave: key pair, REPORTDATA = SHA-256(runtimeData JWKS), report verifies for its target', async () => {
      const image = await loadEnclaveImage(join(REPO_ROOT, 'examples', 'hello-enclave', 'enclave.yaml'));
      const cpu = SimCpu.fromSeed('hello');
      const signed = signEnclave(image, signingKeys().a);
      const e = await startEnclave({ thread, cpu, image, sigstruct: signed.bytes });
      running.push(e);
      assert.equal(hex(e.enclave.mrEnclave), hex(signed.mrEnclave));
      const init = (await e.ecall('init')) as { jwk: { kty: string; crv: string; x: string; y: string } };
      assert.deepEqual([init.jwk.kty, init.jwk.crv], ['EC', 'P-256']);
      // A report for itself: verifies there; the runtime data carries the public key.
      const { report, runtimeData } = (await e.ecall('getReport', e.targetInfo())) as {
        report: Uint8Array;
        runtimeData: Uint8Array;
      };
      const r = cpu.verifyReport(e.enclave, report);
      assert.equal(hex(r.body.mrEnclave), hex(signed.mrEnclave));
      assert.equal(
        hex(r.body.reportData.subarray(0, 32)),
        createHash('sha256').update(runtimeData).digest('hex'),
      );
      assert.equal(hex(r.body.reportData.subarray(32)), '00'.repeat(32));
      const jwks = JSON.parse(Buffer.from(runtimeData).toString('utf8')) as {
        keys: { x: string; y: string }[];
      };
      assert.deepEqual([jwks.keys[0]?.x, jwks.keys[0]?.y], [init.jwk.x, init.jwk.y]);
      // A report for another enclave (e.g. the QE) verifies only there.
      const qe = cpu.launchArchitectural({
        mrEnclave: new Uint8Array(32).fill(0xee),
        mrSigner: new Uint8Array(32).fill(0x11),
        attributes: { flags: 0x15n, xfrm: 0x3n },
        isvProdId: 1,
      });
      const forQe = (await e.ecall('getReport', encodeTargetInfo(qe.targetInfo()))) as { report: Uint8Array };
      assert.equal(hex(cpu.verifyReport(qe, forQe.report).body.mrEnclave), hex(signed.mrEnclave));
      assert.throws(() => cpu.verifyReport(e.enclave, forQe.report), { code: 'ERR_REPORT_MAC' });
      // A secret encrypted to the enclave key (JWE ECDH-ES + A256GCM) opens inside; a tampered one does not.
      const jwe = await new CompactEncrypt(new TextEncoder().encode('the demo secret'))
        .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' })
        .encrypt(await importJWK({ ...init.jwk }, 'ECDH-ES'));
      assert.equal(
        Buffer.from((await e.ecall('openSecret', jwe)) as Uint8Array).toString('utf8'),
        'the demo secret',
      );
      const parts = jwe.split('.');
      parts[3] = `${parts[3]?.slice(0, -2) ?? ''}AA`;
      await assert.rejects(e.ecall('openSecret', parts.join('.')), { code: 'ERR_ENCLAVE_RUNTIME' });
      // Seal inside, unseal inside.
      const blob = (await e.ecall('seal', new Uint8Array([1, 2, 3]))) as Uint8Array;
      assert.deepEqual(await e.ecall('unseal', blob), new Uint8Array([1, 2, 3]));
    });

    test('a report for another enclave verifies only there', async () => {
      const cpu = SimCpu.fromSeed('two');
      const e = await start({}, {}, cpu);
      const verifierImage = makeImage(
        {},
        { 'main.js': "enclave.ecall('ping', function () { return 'verifier'; });\n" },
      );
      const verifier = cpu.einitImage(verifierImage, sign(verifierImage)).enclave;
      const src = `enclave.ecall('ping', function (ti) { return enclave.ereport(ti, new Uint8Array(64).fill(7)); });\n`;
      const reporter = await start({ 'main.js': src }, {}, cpu);
      const report = (await reporter.ecall(
        'ping',
        new Uint8Array(Buffer.from(e.targetInfo())),
      )) as Uint8Array;
      assert.equal(hex(cpu.verifyReport(e.enclave, report).body.mrEnclave), hex(reporter.enclave.mrEnclave));
      assert.throws(() => cpu.verifyReport(verifier, report), { code: 'ERR_REPORT_MAC' });
    });

    test('runs exactly the measured bytes: the entry file is read back from the measured pages', () => {
      const image = makeImage();
      const { layout } = measureEnclave(image);
      assert.deepEqual(readMeasuredFile(layout, 'main.js'), image.files.get('main.js'));
    });

    test('changing the entry file changes MRENCLAVE, and the old SIGSTRUCT no longer launches', async () => {
      const image = makeImage();
      const changed = makeImage({}, { 'main.js': "enclave.ecall('ping', function (x) { return [x]; });\n" });
      assert.notEqual(hex(measureEnclave(image).mrEnclave), hex(measureEnclave(changed).mrEnclave));
      await assert.rejects(
        startEnclave({ thread, cpu: SimCpu.fromSeed('x'), image: changed, sigstruct: sign(image) }),
        {
          code: 'ERR_EINIT_MRENCLAVE',
        },
      );
    });

    test('the enclave code sees only the enclave API', async () => {
      const e = await start({ 'main.js': PROBE }, { ecalls: ['probe'] });
      const out = (await e.ecall('probe')) as Record<string, unknown>;
      assert.deepEqual(out, {
        require: 'undefined',
        process: 'undefined',
        Buffer: 'undefined',
        setTimeout: 'undefined',
        module: 'undefined',
        enclave: 'object',
        eval: 'EvalError',
        Function: 'EvalError',
        escape: 'EvalError',
        import: 'TypeError',
        frozen: true,
        leakedOuterFunctions: 0,
      });
    });

    test('ECALLs and OCALLs are declared; undeclared ones are refused', async () => {
      const src = `
      enclave.ecall('ping', async function (x) { return await enclave.ocall('hostAdd', x, 1); });
      enclave.ecall('bad', function () { return enclave.ocall('undeclared'); });
      enclave.ecall('boom', function () { throw new Error('inside'); });
    `;
      const e = await start(
        { 'main.js': src },
        { ecalls: ['ping', 'bad', 'boom', 'unregistered'], ocalls: ['hostAdd'] },
        SimCpu.fromSeed('calls'),
        { hostAdd: (a: unknown, b: unknown) => Number(a) + Number(b) },
      );
      assert.equal(await e.ecall('ping', 41), 42);
      // Node Buffers cross as bytes too (not as their toJSON form).
      const echo = await start({}, {}, SimCpu.fromSeed('calls'));
      assert.deepEqual(await echo.ecall('ping', Buffer.from([1, 2])), new Uint8Array([1, 2]));
      await assert.rejects(e.ecall('nope'), { code: 'ERR_ENCLAVE_ECALL' });
      await assert.rejects(e.ecall('unregistered'), { code: 'ERR_ENCLAVE_ECALL' });
      await assert.rejects(e.ecall('bad'), { code: 'ERR_ENCLAVE_ECALL' });
      await assert.rejects(e.ecall('boom'), { code: 'ERR_ENCLAVE_RUNTIME' });
      await assert.rejects(e.ecall('ping', 1n), { code: 'ERR_ENCLAVE_ECALL' });
    });

    test('an entry module that throws, or registers an undeclared ECALL, fails to start', async () => {
      const image = makeImage({}, { 'main.js': "throw new Error('top-level failure');\n" });
      await assert.rejects(
        startEnclave({ thread, cpu: SimCpu.fromSeed('x'), image, sigstruct: sign(image) }),
        {
          code: 'ERR_ENCLAVE_RUNTIME',
        },
      );
      const undeclared = makeImage({}, { 'main.js': "enclave.ecall('other', function () {});\n" });
      await assert.rejects(
        startEnclave({ thread, cpu: SimCpu.fromSeed('x'), image: undeclared, sigstruct: sign(undeclared) }),
        { code: 'ERR_ENCLAVE_RUNTIME' },
      );
    });

    test('sealing inside: a different enclave cannot unseal an MRENCLAVE-policy blob', async () => {
      const cpu = SimCpu.fromSeed('seal-runtime');
      const src = `
      enclave.ecall('seal', function (d) { return enclave.seal(d, { policy: 'mrenclave' }); });
      enclave.ecall('unseal', async function (b) { return (await enclave.unseal(b)).plaintext; });
    `;
      const a = await start({ 'main.js': src }, { ecalls: ['seal', 'unseal'] }, cpu);
      const a2 = await start({ 'main.js': src }, { ecalls: ['seal', 'unseal'] }, cpu);
      const b = await start({ 'main.js': `${src}// another enclave\n` }, { ecalls: ['seal', 'unseal'] }, cpu);
      const blob = (await a.ecall('seal', new Uint8Array([9, 9]))) as Uint8Array;
      assert.deepEqual(await a2.ecall('unseal', blob), new Uint8Array([9, 9]));
      await assert.rejects(b.ecall('unseal', blob), { code: 'ERR_ENCLAVE_RUNTIME' });
    });

    test('terminate rejects later ECALLs', async () => {
      const e = await start({});
      await e.terminate();
      await assert.rejects(e.ecall('ping', 1), { code: 'ERR_ENCLAVE_RUNTIME' });
    });

    test('an enclave the host never terminates does not keep the process alive', async () => {
      const script = [
        `import { SimCpu, startEnclave, enclaveImage, validateEnclaveDefinition, signEnclave } from ${JSON.stringify(join(REPO_ROOT, 'src', 'sim', 'index.ts'))};`,
        "const def = validateEnclaveDefinition({ name: 'x', enclaveSize: '64K', heapPages: 1, stackPages: 1, entry: 'm.js', files: ['m.js'], ecalls: ['p'] });",
        "const image = enclaveImage(def, { 'm.js': \"enclave.ecall('p', function () { return 1; });\" });",
        `const e = await startEnclave({ thread: ${JSON.stringify(thread)}, cpu: SimCpu.fromSeed('x'), image, sigstruct: signEnclave(image, ${JSON.stringify(signingKeys().a)}).bytes });`,
        "console.log(await e.ecall('p'));",
      ].join('\n');
      const { code, stdout: out } = await runModuleScript(script);
      assert.equal(code, 0, 'the process exited by itself');
      assert.equal(out, '1');
    });

    test('the example files are what the definition names', () => {
      const def = readFileSync(join(REPO_ROOT, 'examples', 'hello-enclave', 'enclave.yaml'), 'utf8');
      assert.match(def, /entry: main\.js/);
    });
  });
