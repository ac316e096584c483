/**
 * The tutorial's key-value enclave (examples/hello-enclave/kv, docs/tutorial-enclave.md): its data,
 * sealed to the enclave, survives restarts; the host only ever holds ciphertext; a tampered store,
 * another platform or another enclave build cannot open it; the typed interface refuses oversize
 * input. The examples run as programs importing `ccnodes/…` by package name from the checkout.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  EnclaveInterfaceError,
  enclaveImage,
  EnclaveRuntimeError,
  launchTypedEnclave,
  loadEnclaveImage,
} from '../../src/lib/enclave.ts';
import { KV_INTERFACE } from '../../examples/hello-enclave/kv/interface.ts';
import { KV_DEFINITION, openKv } from '../../examples/hello-enclave/kv/host.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'tutorial-kv-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function refusedInEnclave(codePrefix: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof EnclaveRuntimeError, String(err));
    assert.match(String(err.details['enclaveCode']), codePrefix, err.message);
    return true;
  };
}

describe('the tutorial key-value enclave', () => {
  test('data put before a restart is there after it; the host file is ciphertext', async () => {
    const dir = join(root, 'restart');
    const first = await openKv(dir);
    await first.ecalls.put('greeting', bytes('hello, enclave'));
    await first.ecalls.put('answer', bytes('42'));
    await first.terminate();
    const sealed = readFileSync(join(dir, 'kv.sealed'));
    assert.equal(sealed.includes(Buffer.from('hello, enclave')), false);
    assert.equal(sealed.includes(Buffer.from('greeting')), false);

    const second = await openKv(dir);
    try {
      assert.deepEqual(await second.ecalls.keys(), ['answer', 'greeting']);
      assert.deepEqual(await second.ecalls.get('greeting'), bytes('hello, enclave'));
      assert.equal(await second.ecalls.get('missing'), null);
    } finally {
      await second.terminate();
    }
  });

  test('a tampered store is refused when opened', async () => {
    const dir = join(root, 'tamper');
    const kv = await openKv(dir);
    await kv.ecalls.put('k', bytes('v'));
    await kv.terminate();
    const file = join(dir, 'kv.sealed');
    const blob = readFileSync(file);
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
    writeFileSync(file, blob);
    await assert.rejects(openKv(dir), refusedInEnclave(/^ERR_SEAL_/));
  });

  test('the store does not open on another platform', async () => {
    const a = join(root, 'platform-a');
    const b = join(root, 'platform-b');
    const kv = await openKv(a);
    await kv.ecalls.put('k', bytes('v'));
    await kv.terminate();
    mkdirSync(b, { recursive: true });
    copyFileSync(join(a, 'kv.sealed'), join(b, 'kv.sealed'));
    await assert.rejects(openKv(b), refusedInEnclave(/^ERR_SEAL_/));
  });

  test('another build of the enclave (another MRENCLAVE) cannot open the store', async () => {
    const dir = join(root, 'other-build');
    const kv = await openKv(dir);
    await kv.ecalls.put('k', bytes('v'));
    const mine = kv.running.enclave.mrEnclave;
    await kv.terminate();
    const original = await loadEnclaveImage(KV_DEFINITION);
    const entry = original.files.get('kv.js') ?? new Uint8Array();
    const changed = enclaveImage(original.definition, {
      'kv.js': Buffer.concat([entry, Buffer.from('\n// one more line\n')]),
    });
    const other = await launchTypedEnclave(KV_INTERFACE, {
      definition: changed,
      dataDir: dir,
      ocalls: {
        persist: () => undefined,
        ccnodes_qe_target_info: () => {
          throw new Error('this test does not quote');
        },
        ccnodes_quote: () => {
          throw new Error('this test does not quote');
        },
      },
    });
    try {
      assert.notDeepEqual(other.running.enclave.mrEnclave, mine);
      await assert.rejects(
        other.ecalls.open(new Uint8Array(readFileSync(join(dir, 'kv.sealed')))),
        refusedInEnclave(/^ERR_SEAL_/),
      );
    } finally {
      await other.terminate();
    }
  });

  test('the typed interface refuses oversize keys and values before they reach the enclave', async () => {
    const kv = await openKv(join(root, 'limits'));
    try {
      await assert.rejects(kv.ecalls.put('k', new Uint8Array(4097)), (e: unknown) => {
        assert.ok(e instanceof EnclaveInterfaceError);
        assert.equal(e.code, 'ERR_ENCLAVE_CALL_SIZE');
        return true;
      });
      await assert.rejects(
        kv.ecalls.put('k'.repeat(65), bytes('v')),
        /ERR_ENCLAVE_CALL_SIZE|more than the declared 64/,
      );
      assert.deepEqual(await kv.ecalls.keys(), []);
    } finally {
      await kv.terminate();
    }
  });
});

describe('the examples run as programs, importing ccnodes/… by package name from the checkout', () => {
  test('kv host: put in one process, get in the next', async () => {
    const dir = join(root, 'programs');
    const host = join(REPO_ROOT, 'examples', 'hello-enclave', 'kv', 'host.ts');
    await run(process.execPath, ['--import', 'tsx', host, dir, 'put', 'city', 'Zürich'], { cwd: REPO_ROOT });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', host, dir, 'get', 'city'], {
      cwd: REPO_ROOT,
    });
    assert.equal(stdout, 'Zürich\n');
  });

  test('real-quote/verify.ts verifies the shipped quote', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join('examples', 'real-quote', 'verify.ts')],
      {
        cwd: REPO_ROOT,
      },
    );
    assert.deepEqual(JSON.parse(stdout), {
      status: 'ConfigurationAndSWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
      later: 'ERR_VERIFY_COLLATERAL_EXPIRED',
    });
  });
});
