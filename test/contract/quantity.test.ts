/**
 * The one Kubernetes quantity parser (src/contract/quantity.ts) and the callers that bind it to their
 * errors: the webhook layer (ERR_KUBE_QUANTITY), the planner (ERR_PLAN_QUANTITY, planner units) and the
 * dashboard (whole base units, undefined for anything else). Grammar: apimachinery's `ParseQuantity`
 * (k8s.io/apimachinery/pkg/api/resource: signed number, binary suffixes Ki…Ei, decimal suffixes
 * n u m k M G T P E, or a decimal exponent). The cases of the three former copies are all here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ceilDiv,
  isWhole,
  mibToAzureQuantity,
  mibToIntelQuantity,
  quantityBaseUnits,
  quantityNumber,
  readQuantity,
  type Quantity,
} from '../../src/contract/index.ts';
import { azureEpcToMib, intelEpcToMib, parseQuantity as kubeQuantity } from '../../src/kube/index.ts';
import {
  PlannerInputError,
  formatBytes,
  formatMilli,
  parseQuantity as planQuantity,
  quantityAmount,
} from '../../src/planner/index.ts';

const MiB = 1048576n;

function q(text: unknown): Quantity {
  const r = readQuantity(text);
  assert.ok(r.ok, `${String(text)} should parse`);
  return r.quantity;
}

const value = (text: unknown): [bigint, bigint] => {
  const x = q(text);
  return [x.numerator, x.denominator];
};

describe('readQuantity: the grammar', () => {
  test('plain numbers, fractions and JSON numbers are exact rationals', () => {
    assert.deepEqual(value('64'), [64n, 1n]);
    assert.deepEqual(value('1.5'), [15n, 10n]);
    assert.deepEqual(value('1.'), [1n, 1n]);
    assert.deepEqual(value('.5'), [5n, 10n]);
    assert.deepEqual(value('+3'), [3n, 1n]);
    assert.deepEqual(value(2.5), [25n, 10n]);
    assert.deepEqual(value('  7  '), [7n, 1n]);
  });

  test('binary suffixes multiply by powers of 1024, decimal ones by powers of 1000', () => {
    assert.deepEqual(value('64Mi'), [64n * MiB, 1n]);
    assert.deepEqual(value('1Ki'), [1024n, 1n]);
    assert.deepEqual(value('1Ei'), [1n << 60n, 1n]);
    assert.deepEqual(value('10M'), [10_000_000n, 1n]);
    assert.deepEqual(value('1k'), [1000n, 1n]);
    assert.deepEqual(value('2E'), [2n * 10n ** 18n, 1n]);
    assert.deepEqual(value('250m'), [250n, 1000n]);
    assert.deepEqual(value('5u'), [5n, 1_000_000n]);
    assert.deepEqual(value('100n'), [100n, 1_000_000_000n]);
  });

  test('decimal exponents, either case and sign', () => {
    assert.deepEqual(value('1e3'), [1000n, 1n]);
    assert.deepEqual(value('1E3'), [1000n, 1n]);
    assert.deepEqual(value('15e-1'), [15n, 10n]);
    assert.deepEqual(value('1e+2'), [100n, 1n]);
  });

  test('the suffix is kept as written (the webhook warns about EPC units by it)', () => {
    assert.equal(q('10Mi').suffix, 'Mi');
    assert.equal(q('10M').suffix, 'M');
    assert.equal(q('500m').suffix, 'm');
    assert.equal(q('1e6').suffix, '');
    assert.equal(q('10').suffix, '');
    assert.equal(q(' 10Mi ').text, '10Mi');
  });

  test('negative quantities parse (callers decide); whole and ceil helpers', () => {
    assert.deepEqual(value('-1'), [-1n, 1n]);
    assert.equal(isWhole(q('1500m')), false);
    assert.equal(isWhole(q('2000m')), true);
    assert.equal(ceilDiv(q('1500m'), 1n), 2n);
    assert.equal(ceilDiv(q('10M'), MiB), 10n);
  });

  test('anything else is refused with the reason, never thrown', () => {
    for (const bad of ['', 'Mi', '1MiB', '1 Mi', '--1', '1e', 'NaN', 'lots', '1.2.3', '1mi', '0x10', '1e1.5'])
      assert.deepEqual(readQuantity(bad), { ok: false, problem: 'syntax', text: bad.trim() }, bad);
    assert.equal(readQuantity('1'.repeat(65)).ok, false);
    assert.equal(readQuantity('1'.repeat(64)).ok, true);
    assert.deepEqual(readQuantity('1e31'), { ok: false, problem: 'exponent', text: '1e31' });
    assert.deepEqual(readQuantity('1e-31'), { ok: false, problem: 'exponent', text: '1e-31' });
    assert.equal(readQuantity('1e30').ok, true);
    for (const bad of [undefined, null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY, 10n, Symbol('x')])
      assert.equal(readQuantity(bad).ok, false, typeof bad);
    assert.deepEqual(readQuantity(10n), { ok: false, problem: 'type', text: 'bigint' });
    assert.deepEqual(readQuantity(undefined), { ok: false, problem: 'type', text: '' });
    assert.deepEqual(readQuantity({ a: 1 }), { ok: false, problem: 'type', text: '{"a":1}' });
  });
});

describe('whole base units (the dashboard)', () => {
  test('every form kubectl accepts, rounded up to whole units; anything else is not a quantity', () => {
    assert.equal(quantityBaseUnits('64'), 64n);
    assert.equal(quantityBaseUnits('64Mi'), 64n * MiB);
    assert.equal(quantityBaseUnits('0.0625Gi'), 64n * MiB);
    assert.equal(quantityBaseUnits('1k'), 1000n);
    assert.equal(quantityBaseUnits('1e3'), 1000n);
    assert.equal(quantityBaseUnits('1500m'), 2n);
    assert.equal(quantityBaseUnits('.5Ki'), 512n);
    assert.equal(quantityBaseUnits('-1500m'), -2n);
    for (const bad of ['', 'Mi', '1MiB', '1 Mi', '--1', '1e', 'NaN', '1'.repeat(65)])
      assert.equal(quantityBaseUnits(bad), undefined, bad);
  });

  test('as a number only when exact', () => {
    assert.equal(quantityNumber('112'), 112);
    assert.equal(quantityNumber('117440512'), 117_440_512);
    assert.equal(quantityNumber(undefined), undefined);
    assert.equal(quantityNumber('junk'), undefined);
    assert.equal(quantityNumber('1e20'), undefined);
  });
});

describe('EPC units (both dialects)', () => {
  test('sgx_epc_mem_in_MiB counts MiB; sgx.intel.com/epc counts bytes, rounded up to whole MiB', () => {
    assert.equal(azureEpcToMib('10', 'f'), 10n);
    assert.equal(azureEpcToMib(10, 'f'), 10n);
    assert.equal(intelEpcToMib('10Mi', 'f'), 10n);
    assert.equal(intelEpcToMib('10M', 'f'), 10n); // 10,000,000 bytes = 9.54 MiB → 10
    assert.equal(intelEpcToMib('1', 'f'), 1n); // one byte still takes a whole MiB
    assert.equal(intelEpcToMib('0', 'f'), 0n);
    assert.equal(mibToIntelQuantity(10n), '10Mi');
    assert.equal(mibToIntelQuantity(0n), '0');
    assert.equal(mibToAzureQuantity(10n), '10');
  });
});

describe('callers bind refusals to their own typed errors', () => {
  test('kube: ERR_KUBE_QUANTITY naming the field; negative refused', () => {
    const kubeRefuses = (v: unknown, re: RegExp): void => {
      assert.throws(
        () => kubeQuantity(v, 'limits["sgx.intel.com/epc"]'),
        (e: unknown) =>
          (e as { code?: string }).code === 'ERR_KUBE_QUANTITY' &&
          (e as Error).message.startsWith('limits["sgx.intel.com/epc"]: ') &&
          re.test((e as Error).message),
      );
    };
    kubeRefuses('ten', /"ten" is not a Kubernetes quantity/);
    kubeRefuses('-1Mi', /is negative/);
    kubeRefuses('1e99', /exponent/);
    kubeRefuses({}, /expected a quantity string/);
    assert.deepEqual(kubeQuantity('-0', 'f').numerator, 0n);
  });

  test('planner: ERR_PLAN_QUANTITY naming the field, planner units, whole extended resources', () => {
    const planRefuses = (f: () => unknown): void => {
      assert.throws(
        f,
        (e: unknown) =>
          e instanceof PlannerInputError && e.code === 'ERR_PLAN_QUANTITY' && /^x\.cpu: /.test(e.message),
      );
    };
    planRefuses(() => planQuantity('lots', 'x.cpu'));
    planRefuses(() => planQuantity('-1', 'x.cpu'));
    planRefuses(() => planQuantity(undefined, 'x.cpu'));
    planRefuses(() => quantityAmount('1.5', 'x.cpu', 'count'));
    assert.equal(quantityAmount('250m', 'x.cpu', 'milli'), 250);
    assert.equal(quantityAmount('0.0001', 'x.cpu', 'milli'), 1); // rounded up to a millicore
    assert.equal(quantityAmount('100n', 'x.cpu', 'milli'), 1);
    assert.equal(quantityAmount('1.5Ki', 'x.memory', 'bytes'), 1536);
    assert.equal(quantityAmount('10', 'x.epc', 'count'), 10);
    assert.equal(formatMilli(2000), '2');
    assert.equal(formatMilli(250), '250m');
    assert.equal(formatBytes(512 * 1024 * 1024), '512Mi');
    assert.equal(formatBytes(1000), '1000');
  });
});
