/**
 * Specification of the PCCS route parameters the collateral service accepts: hex parameters have
 * an exact length or a length range (both bounds enforced), a parameter given twice is refused,
 * `update` takes exactly `standard` or `early` and `tcbEvaluationDataNumber` 1 to 9 decimal digits.
 * A refused parameter is 400 `ERR_COLLATERAL_SERVICE_REQUEST` naming it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dcap, get, startStack, type Stack } from './support.ts';

const SGX = '/sgx/certification/v4';
const up = dcap.platform('up-to-date');
const FMSPC = up.config.fmspc.toUpperCase();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pcesvn = hex(Buffer.from([up.config.pceSvn & 0xff, up.config.pceSvn >> 8]));
const pckcert = (id: string): string =>
  `${SGX}/pckcert?${id}&cpusvn=${hex(up.cpuSvn)}&pcesvn=${pcesvn}&pceid=${up.config.pceId}`;

describe('route parameters', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  for (const [path, parameter] of [
    [`${SGX}/tcb?fmspc=${FMSPC.slice(0, 10)}`, 'fmspc'],
    [`${SGX}/tcb?fmspc=${FMSPC}00`, 'fmspc'],
    [pckcert(`encrypted_ppid=${'ab'.repeat(15)}`), 'encrypted_ppid'],
    [pckcert(`encrypted_ppid=${'ab'.repeat(385)}`), 'encrypted_ppid'],
    [pckcert(`qeid=${'ab'.repeat(33)}`), 'qeid'],
    [`${SGX}/pckcrl?ca=processor&ca=processor`, 'ca'],
    [`${SGX}/tcb?fmspc=${FMSPC}&tcbEvaluationDataNumber=1x`, 'tcbEvaluationDataNumber'],
    [`${SGX}/tcb?fmspc=${FMSPC}&tcbEvaluationDataNumber=1234567890`, 'tcbEvaluationDataNumber'],
  ] as const) {
    test(`400 naming ${parameter}: ${path.replace(SGX, '').slice(0, 60)}`, async () => {
      const res = await get(stack.service.url, path);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.headers.get('Error-Code'), 'ERR_COLLATERAL_SERVICE_REQUEST');
      assert.equal((JSON.parse(res.text) as { details: { parameter: string } }).details.parameter, parameter);
    });
  }

  test('update=standard|early and a decimal tcbEvaluationDataNumber are accepted and asked upstream', async () => {
    for (const variant of ['update=standard', 'update=early', 'tcbEvaluationDataNumber=17']) {
      const res = await get(stack.service.url, `${SGX}/tcb?fmspc=${FMSPC}&${variant}`);
      assert.equal(res.status, 200, `${variant}: ${res.text}`);
      assert.ok(
        stack.upstream.log.some((r) => r.url.includes('/tcb?') && r.url.includes(variant)),
        `${variant} sent upstream`,
      );
    }
  });
});
