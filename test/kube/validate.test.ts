import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  largestNodeEpcMiB,
  nodeEpcMiB,
  reviewValidation,
  parseAdmissionReview,
  validatePod,
} from '../../src/kube/index.ts';
import { AZURE, INTEL, admissionReview, container, pod } from './fixtures.ts';

/** Fake nodes as the API server lists them: a DCsv2 pool, a DCsv3 node, a regular node. */
const NODES = [
  {
    metadata: { name: 'dc4', labels: { 'ccnodes.io/epc-mib': '112' } },
    status: { allocatable: { [AZURE]: '112', cpu: '4' } },
  },
  { metadata: { name: 'dc2v3', labels: {} }, status: { allocatable: { [INTEL]: '8Gi', cpu: '2' } } },
  { metadata: { name: 'regular' }, status: { allocatable: { cpu: '8', memory: '32Gi' } } },
  { metadata: { name: 'labelled-only', labels: { 'ccnodes.io/epc-mib': '56' } }, status: {} },
];

describe('validatePod', () => {
  test('largest node EPC from fake nodes: allocatable in either dialect, else the label', () => {
    assert.equal(nodeEpcMiB(NODES[0] ?? {}), 112);
    assert.equal(nodeEpcMiB(NODES[1] ?? {}), 8192);
    assert.equal(nodeEpcMiB(NODES[2] ?? {}), undefined);
    assert.equal(nodeEpcMiB(NODES[3] ?? {}), 56);
    assert.equal(largestNodeEpcMiB(NODES), 8192);
    assert.equal(largestNodeEpcMiB([NODES[0] ?? {}, NODES[3] ?? {}]), 112);
    assert.equal(largestNodeEpcMiB([NODES[2] ?? {}]), undefined);
    // bytes are rounded down: a node with 98,566,144 B offers 94 whole MiB.
    assert.equal(nodeEpcMiB({ status: { allocatable: { [INTEL]: '98566144' } } }), 94);
  });

  test('a pod asking more than the largest node is refused, saying how much exists', () => {
    const largest = largestNodeEpcMiB(NODES.slice(0, 1));
    const r = validatePod(
      pod([container('app', { [AZURE]: '200' })]),
      largest === undefined ? {} : { largestNodeEpcMiB: largest },
    );
    assert.equal(r.allowed, false);
    assert.match(r.message ?? '', /200 MiB/);
    assert.match(r.message ?? '', /offers 112 MiB/);
  });

  test('a pod that fits exactly is allowed; the effective total counts init containers', () => {
    assert.equal(
      validatePod(pod([container('app', { [AZURE]: '112' })]), { largestNodeEpcMiB: 112 }).allowed,
      true,
    );
    const initHeavy = pod([container('app', { [AZURE]: '10' })], {
      initContainers: [container('init', { [INTEL]: '113Mi' })],
    });
    assert.equal(validatePod(initHeavy, { largestNodeEpcMiB: 112 }).allowed, false);
    const spread = pod([container('a', { [AZURE]: '60' }), container('b', { [AZURE]: '60' })]);
    assert.equal(validatePod(spread, { largestNodeEpcMiB: 112 }).allowed, false);
  });

  test('unit mix-ups are warned about: Intel bytes without a suffix, Azure MiB with one, decimal suffixes', () => {
    const w1 = validatePod(pod([container('app', { [INTEL]: '10' })])).warnings;
    assert.equal(w1.length, 1);
    assert.match(w1[0] ?? '', /counts bytes.*"10" is 10 bytes.*did you mean "10Mi"/);
    const w2 = validatePod(pod([container('app', { [AZURE]: '10Mi' })])).warnings;
    assert.match(w2[0] ?? '', /counts MiB.*10485760 MiB.*"10"/);
    const w3 = validatePod(pod([container('app', { [INTEL]: '10M' })])).warnings;
    assert.match(w3[0] ?? '', /decimal suffix.*10Mi/);
    const w4 = validatePod(pod([container('app', { [AZURE]: '10', [INTEL]: '20Mi' })])).warnings;
    assert.match(w4[0] ?? '', /disagree.*20 MiB counts/);
  });

  test('the 10Mi-in-MiB mistake is refused by size when the cluster is known', () => {
    const r = validatePod(pod([container('app', { [AZURE]: '10Mi' })]), { largestNodeEpcMiB: 262144 });
    assert.equal(r.allowed, false);
    assert.equal(r.warnings.length, 1);
  });

  test('correct pods get no warnings; non-SGX and kube-system pods are always allowed', () => {
    assert.deepEqual(validatePod(pod([container('app', { [INTEL]: '10Mi' })]), { largestNodeEpcMiB: 112 }), {
      allowed: true,
      warnings: [],
    });
    assert.deepEqual(validatePod(pod([container('web', { cpu: '1' })]), { largestNodeEpcMiB: 1 }), {
      allowed: true,
      warnings: [],
    });
    assert.deepEqual(
      validatePod(
        pod([container('app', { [AZURE]: '999' })]),
        { largestNodeEpcMiB: 1 },
        { namespace: 'kube-system' },
      ),
      {
        allowed: true,
        warnings: [],
      },
    );
  });

  test('an unreadable quantity is refused with the field named', () => {
    const r = validatePod(pod([container('app', { [INTEL]: 'lots' })]));
    assert.equal(r.allowed, false);
    assert.match(
      r.message ?? '',
      /spec\.containers\[0\] \(app\)\.resources\.limits\["sgx\.intel\.com\/epc"\].*ERR_KUBE_QUANTITY/,
    );
  });

  test('EPC requests that differ from limits are warned about', () => {
    const r = validatePod(pod([container('app', { [AZURE]: '10' }, { [INTEL]: '5Mi' })]));
    assert.match(r.warnings.join('\n'), /requests \(5 MiB\) differ from limits \(10 MiB\)/);
    assert.deepEqual(
      validatePod(pod([container('app', { [AZURE]: '10' }, { [INTEL]: '10Mi' })])).warnings,
      [],
    );
  });

  test('bad quoting annotation is warned about', () => {
    const r = validatePod(
      pod([container('app', { [AZURE]: '1' })], { annotations: { 'ccnodes.io/quoting': 'outofproc' } }),
    );
    assert.match(r.warnings[0] ?? '', /not one of out-of-process, in-process, none/);
  });

  test('AdmissionReview: refusal carries status 403 and the message; UPDATE is not judged', () => {
    const review = admissionReview(pod([container('app', { [AZURE]: '500' })]));
    const out = reviewValidation(parseAdmissionReview(review), { largestNodeEpcMiB: 112 });
    assert.equal(out.response.allowed, false);
    assert.equal(out.response.status?.code, 403);
    assert.match(JSON.stringify(out.response.status), /offers 112 MiB/);
    const upd = reviewValidation(
      parseAdmissionReview(admissionReview(pod([container('app', { [AZURE]: '500' })]), 'default', 'UPDATE')),
      {
        largestNodeEpcMiB: 112,
      },
    );
    assert.equal(upd.response.allowed, true);
  });

  test('parseAdmissionReview rejects what is not an AdmissionReview v1', () => {
    assert.throws(
      () =>
        parseAdmissionReview({
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          request: { uid: 'x' },
        }),
      /apiVersion/,
    );
    assert.throws(
      () => parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      /request/,
    );
    assert.throws(
      () => parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
      /request\.uid/,
    );
    assert.throws(() => parseAdmissionReview([]), /body/);
  });
});
