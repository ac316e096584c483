/**
 * Specification of artefact names: the cache key of each artefact (stored in the database and in
 * exported bundles, so its spelling is a stored format), its exact inverse, which refuses every key
 * the service does not write, and the human name used in messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  artefactKey,
  describeSpec,
  specOfKey,
  type ArtefactSpec,
} from '../../src/collateral-service/index.ts';

const FMSPC = '00906ED50000';
const CPUSVN = '0f0f0202ff8003000000000000000000';
const PPID = 'ab'.repeat(16);
const QEID = 'cd'.repeat(16);

/** Every kind, with and without its optional parts, and the key it is stored under. */
const NAMED: readonly (readonly [ArtefactSpec, string])[] = [
  [{ kind: 'tcb', tee: 'sgx', fmspc: FMSPC }, `sgx:tcb:${FMSPC}`],
  [{ kind: 'tcb', tee: 'tdx', fmspc: FMSPC }, `tdx:tcb:${FMSPC}`],
  [
    { kind: 'tcb', tee: 'sgx', fmspc: FMSPC, variant: { name: 'update', value: 'early' } },
    `sgx:tcb:${FMSPC}:update=early`,
  ],
  [
    { kind: 'tcb', tee: 'tdx', fmspc: FMSPC, variant: { name: 'tcbEvaluationDataNumber', value: '17' } },
    `tdx:tcb:${FMSPC}:tcbEvaluationDataNumber=17`,
  ],
  [{ kind: 'qe', tee: 'sgx' }, 'sgx:qe'],
  [{ kind: 'qe', tee: 'tdx' }, 'tdx:qe'],
  [{ kind: 'qe', tee: 'tdx', variant: { name: 'update', value: 'standard' } }, 'tdx:qe:update=standard'],
  [{ kind: 'qve', tee: 'sgx' }, 'sgx:qve'],
  [
    { kind: 'qve', tee: 'sgx', variant: { name: 'tcbEvaluationDataNumber', value: '123456789' } },
    'sgx:qve:tcbEvaluationDataNumber=123456789',
  ],
  [{ kind: 'pckcrl', tee: 'sgx', ca: 'processor' }, 'sgx:pckcrl:processor'],
  [{ kind: 'pckcrl', tee: 'sgx', ca: 'platform' }, 'sgx:pckcrl:platform'],
  [{ kind: 'rootcacrl', tee: 'sgx' }, 'sgx:rootcacrl'],
  [{ kind: 'pckcerts', tee: 'sgx', pceid: '0000', encryptedPpid: PPID }, `sgx:pckcerts:0000:ppid=${PPID}`],
  [
    { kind: 'pckcert', tee: 'sgx', pceid: '0000', cpusvn: CPUSVN, pcesvn: '0b00', encryptedPpid: PPID },
    `sgx:pckcert:0000:${CPUSVN}:0b00:ppid=${PPID}`,
  ],
  [
    { kind: 'pckcert', tee: 'sgx', pceid: '0000', cpusvn: CPUSVN, pcesvn: '0b00', qeid: QEID },
    `sgx:pckcert:0000:${CPUSVN}:0b00:qeid=${QEID}`,
  ],
];

test('each artefact is stored under its key, and the key reads back as the same artefact', () => {
  for (const [spec, key] of NAMED) {
    assert.equal(artefactKey(spec), key);
    assert.deepEqual(specOfKey(key), spec, key);
  }
});

test('a PCK certificate asked by both QE id and encrypted PPID is named by its QE id', () => {
  assert.equal(
    artefactKey({
      kind: 'pckcert',
      tee: 'sgx',
      pceid: '0000',
      cpusvn: CPUSVN,
      pcesvn: '0b00',
      encryptedPpid: PPID,
      qeid: QEID,
    }),
    `sgx:pckcert:0000:${CPUSVN}:0b00:qeid=${QEID}`,
  );
});

/** Keys the service never writes, each one step away from a key it does write. */
const REFUSED: readonly string[] = [
  '',
  'sgx',
  'sev:tcb:' + FMSPC,
  'SGX:qe',
  'sgx:nothing',
  // TCB Info: FMSPC in upper-case hex, 12 digits; at most one variant
  `sgx:tcb:${FMSPC.toLowerCase()}`,
  `sgx:tcb:${FMSPC.slice(1)}`,
  'sgx:tcb',
  `sgx:tcb:${FMSPC}:update=late`,
  `sgx:tcb:${FMSPC}:update=`,
  `sgx:tcb:${FMSPC}:`,
  `sgx:tcb:${FMSPC}:tcbEvaluationDataNumber=1234567890`,
  `sgx:tcb:${FMSPC}:tcbEvaluationDataNumber=-1`,
  `sgx:tcb:${FMSPC}:version=3`,
  `sgx:tcb:${FMSPC}:update=early:x`,
  `sgx:tcb:${FMSPC}:update=early:update=early`,
  // identities: the QvE only under SGX; at most one variant
  'tdx:qve',
  'tdx:qve:update=early',
  'sgx:qe:update=early:x',
  'sgx:qve:update=early:x',
  'sgx:qe:x',
  'sgx:qe:',
  // PCK CRLs: SGX only, processor or platform, nothing after
  'tdx:pckcrl:processor',
  'sgx:pckcrl:intermediate',
  'sgx:pckcrl:Processor',
  'sgx:pckcrl',
  'sgx:pckcrl:processor:x',
  // Root CA CRL: SGX only, nothing after
  'tdx:rootcacrl',
  'sgx:rootcacrl:x',
  'sgx:rootcacrl:',
  // PCK certificate lists: SGX only, 4-digit lower-case PCE id, the PPID
  `tdx:pckcerts:0000:ppid=${PPID}`,
  'sgx:pckcerts:0000',
  `sgx:pckcerts:0000:ppid=${PPID}:x`,
  `sgx:pckcerts:000:ppid=${PPID}`,
  `sgx:pckcerts:00000:ppid=${PPID}`,
  `sgx:pckcerts:ABCD:ppid=${PPID}`,
  `sgx:pckcerts:0000:qeid=${QEID}`,
  `sgx:pckcerts:0000:ppid=${PPID.toUpperCase()}`,
  'sgx:pckcerts:0000:ppid=',
  `sgx:pckcerts:0000:ppid=${PPID}x`,
  // PCK certificates: SGX only, six parts, lower-case hex of the right lengths, qeid= or ppid=
  `tdx:pckcert:0000:${CPUSVN}:0b00:ppid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN}:0b00`,
  `sgx:pckcert:0000:${CPUSVN}:0b00:ppid=${PPID}:x`,
  `sgx:pckcert:0000:${CPUSVN}:0b00:eid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN}:0b00:ppid=${PPID.toUpperCase()}`,
  `sgx:pckcert:0000:${CPUSVN}:0b00:ppid=`,
  `sgx:pckcert:000:${CPUSVN}:0b00:ppid=${PPID}`,
  `sgx:pckcert:ABCD:${CPUSVN}:0b00:ppid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN.slice(2)}:0b00:ppid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN.toUpperCase()}:0b00:ppid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN}:0b0:ppid=${PPID}`,
  `sgx:pckcert:0000:${CPUSVN}:0B00:ppid=${PPID}`,
];

test('a key the service does not write is refused with a request error naming it', () => {
  for (const key of REFUSED) {
    assert.throws(
      () => specOfKey(key),
      (err: unknown) => {
        const e = err as { code?: unknown; details?: { key?: unknown } };
        assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_REQUEST', key);
        assert.equal(e.details?.key, key);
        return true;
      },
      key,
    );
  }
});

test('each artefact has a human name for messages and logs', () => {
  assert.deepEqual(
    NAMED.map(([spec]) => describeSpec(spec)),
    [
      `SGX TCB Info for FMSPC ${FMSPC}`,
      `TDX TCB Info for FMSPC ${FMSPC}`,
      `SGX TCB Info for FMSPC ${FMSPC}`,
      `TDX TCB Info for FMSPC ${FMSPC}`,
      'SGX QE Identity',
      'TDX QE (TD_QE) Identity',
      'TDX QE (TD_QE) Identity',
      'QvE Identity',
      'QvE Identity',
      'PCK CRL (processor CA)',
      'PCK CRL (platform CA)',
      'Root CA CRL',
      'PCK certificates of a platform (pceid 0000)',
      `PCK certificate (pceid 0000, cpusvn ${CPUSVN}, pcesvn 0b00)`,
      `PCK certificate (pceid 0000, cpusvn ${CPUSVN}, pcesvn 0b00)`,
    ],
  );
});
