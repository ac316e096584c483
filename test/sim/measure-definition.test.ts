/**
 * Enclave definitions (validation with typed errors naming the field), the page layout, and
 * MRENCLAVE of whole images.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  ENCLAVE_RUNTIME_ID,
  layoutEnclave,
  loadEnclaveImage,
  measureEnclave,
  parseEnclaveDefinition,
  validateEnclaveDefinition,
} from '../../src/sim/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { makeImage } from './enclave-fixtures.ts';

const BASE = { name: 'x', enclaveSize: '64K', entry: 'a.js', files: ['a.js'] };

function fieldOf(input: Record<string, unknown>): string {
  try {
    validateEnclaveDefinition(input);
  } catch (err) {
    const e = err as { code: string; details: { field: string } };
    assert.equal(e.code, 'ERR_ENCLAVE_DEFINITION');
    return e.details.field;
  }
  throw new Error('expected a validation error');
}

describe('enclave definition validation', () => {
  test('defaults', () => {
    const d = validateEnclaveDefinition(BASE);
    assert.equal(d.enclaveSize, 65536n);
    assert.equal(d.debug, true);
    assert.equal(d.attributes.flags, 0x6n); // DEBUG | MODE64BIT
    assert.equal(d.attributes.xfrm, 0x3n);
    assert.equal(d.tcsCount, 1);
    assert.equal(d.ssaFrameSize, 1);
    assert.equal(d.files[0]?.perms, 'r');
    assert.equal(validateEnclaveDefinition({ ...BASE, debug: false }).attributes.flags, 0x4n);
  });

  const BAD: readonly [string, Record<string, unknown>, string][] = [
    ['missing name', { ...BASE, name: undefined }, 'name'],
    ['size not a power of two', { ...BASE, enclaveSize: '48K' }, 'enclaveSize'],
    ['size garbage', { ...BASE, enclaveSize: 'big' }, 'enclaveSize'],
    ['missing size', { ...BASE, enclaveSize: undefined }, 'enclaveSize'],
    ['ssaFrameSize 0', { ...BASE, ssaFrameSize: 0 }, 'ssaFrameSize'],
    ['tcsCount negative', { ...BASE, tcsCount: -1 }, 'tcsCount'],
    ['isvSvn too big', { ...BASE, isvSvn: 70000 }, 'isvSvn'],
    ['isvProdId not integer', { ...BASE, isvProdId: 1.5 }, 'isvProdId'],
    ['debug not boolean', { ...BASE, debug: 'yes' }, 'debug'],
    ['INIT flag', { ...BASE, attributes: { flags: ['INIT'] } }, 'attributes.flags[0]'],
    ['unknown flag', { ...BASE, attributes: { flags: ['MODE64BIT', 'FAST'] } }, 'attributes.flags[1]'],
    ['xfrm without SSE', { ...BASE, attributes: { xfrm: '0x1' } }, 'attributes.xfrm'],
    ['kss without KSS flag', { ...BASE, kss: { configSvn: 1 } }, 'kss'],
    [
      'kss id too long',
      { ...BASE, attributes: { flags: ['KSS'] }, kss: { isvFamilyId: 'ff'.repeat(17) } },
      'kss.isvFamilyId',
    ],
    ['entry not a file', { ...BASE, entry: 'b.js' }, 'entry'],
    ['no files', { ...BASE, files: [] }, 'files'],
    ['path escapes', { ...BASE, files: ['../a.js'], entry: '../a.js' }, 'files[0]'],
    ['absolute path', { ...BASE, files: ['/etc/passwd'] }, 'files[0]'],
    ['duplicate file', { ...BASE, files: ['a.js', 'a.js'] }, 'files[1]'],
    ['bad perms', { ...BASE, files: [{ path: 'a.js', perms: 'rwx' }] }, 'files[0].perms'],
    ['bad ecall name', { ...BASE, ecalls: ['has space'] }, 'ecalls[0]'],
    ['duplicate ocall', { ...BASE, ocalls: ['a', 'a'] }, 'ocalls[1]'],
    ['unknown field', { ...BASE, heap: 3 }, 'heap'],
    ['bad date', { ...BASE, signing: { date: '2024-13-01' } }, 'signing.date'],
    [
      'bad mask',
      { ...BASE, signing: { attributeMask: { flags: '0x1ffffffffffffffff' } } },
      'signing.attributeMask.flags',
    ],
  ];
  for (const [name, input, field] of BAD) {
    test(`rejects: ${name} (field ${field})`, () => {
      assert.equal(fieldOf(input), field);
    });
  }

  test('JSON and YAML texts give the same definition; syntax errors are typed', () => {
    const yaml = 'name: x\nenclaveSize: 64K\nentry: a.js\nfiles: [a.js]\n';
    assert.deepEqual(parseEnclaveDefinition(yaml), parseEnclaveDefinition(JSON.stringify(BASE)));
    assert.throws(() => parseEnclaveDefinition('{"name": '), { code: 'ERR_ENCLAVE_DEFINITION_SYNTAX' });
    assert.throws(() => parseEnclaveDefinition('name: [unclosed'), { code: 'ERR_ENCLAVE_DEFINITION_SYNTAX' });
  });
});

describe('layout and MRENCLAVE of images', () => {
  test('the layout is ascending, starts with the measured manifest, ends with unmeasured heap', () => {
    const layout = layoutEnclave(makeImage({ tcsCount: 2, heapPages: 3, stackPages: 2, ssaFrameSize: 2 }));
    const offsets = layout.pages.map((p) => p.offset);
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => (a < b ? -1 : 1)),
    );
    assert.equal(layout.pages[0]!.area, 'manifest');
    assert.equal(layout.pages[0]!.secinfoFlags, 0x201);
    assert.equal(layout.manifest.runtime, ENCLAVE_RUNTIME_ID);
    const count = (area: string): number => layout.pages.filter((p) => p.area === area).length;
    assert.equal(count('tcs'), 2);
    assert.equal(count('ssa'), 4);
    assert.equal(count('stack'), 4);
    assert.equal(count('heap'), 3);
    assert.ok(
      layout.pages.filter((p) => p.area === 'tcs').every((p) => p.secinfoFlags === 0x100 && p.measured),
    );
    assert.ok(layout.pages.filter((p) => p.area === 'heap' || p.area === 'stack').every((p) => !p.measured));
    const file = layout.pages.find((p) => p.area === 'file');
    assert.equal(file?.secinfoFlags, 0x205); // rx
  });

  test('MRENCLAVE depends on code, layout parameters and declared calls, not on name or SVNs', () => {
    const m = (def: Record<string, unknown> = {}, files: Record<string, string> = {}): string =>
      Buffer.from(measureEnclave(makeImage(def, files)).mrEnclave).toString('hex');
    const base = m();
    assert.equal(m({ name: 'other', isvSvn: 9, isvProdId: 1, debug: false }), base);
    assert.notEqual(m({}, { 'main.js': '// x\n' }), base);
    assert.notEqual(m({ tcsCount: 2 }), base);
    assert.notEqual(m({ heapPages: 5 }), base);
    assert.notEqual(m({ ssaFrameSize: 2 }), base);
    assert.notEqual(m({ enclaveSize: '512K' }), base);
    assert.notEqual(m({ ecalls: ['ping', 'pong'] }), base);
    assert.notEqual(m({ files: [{ path: 'main.js', perms: 'r' }] }), base);
  });

  test('the measurement log hashes to MRENCLAVE', () => {
    const { mrEnclave, log } = measureEnclave(makeImage(), { keepLog: true });
    assert.ok(log);
    assert.equal(createHash('sha256').update(log).digest('hex'), Buffer.from(mrEnclave).toString('hex'));
  });

  test('an image that does not fit fails with ERR_ENCLAVE_LAYOUT', () => {
    assert.throws(() => layoutEnclave(makeImage({ enclaveSize: '16K' })), { code: 'ERR_ENCLAVE_LAYOUT' });
  });

  test('the hello-enclave example loads and measures', async () => {
    const image = await loadEnclaveImage(join(REPO_ROOT, 'examples', 'hello-enclave', 'enclave.yaml'));
    assert.equal(image.definition.name, 'hello-enclave');
    assert.equal(measureEnclave(image).mrEnclave.length, 32);
    await assert.rejects(loadEnclaveImage(join(REPO_ROOT, 'examples', 'nope.yaml')), {
      code: 'ERR_ENCLAVE_FILE',
    });
  });
});
