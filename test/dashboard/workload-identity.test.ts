/**
 * The Workloads page's enclave identity per pod, where known: the `ccnodes.io/mrenclave` /
 * `ccnodes.io/mrsigner` annotations (hex, 64 digits) first, else the MRENCLAVE of the newest token
 * the attestation service issued to the pod's IP (audit log); the page says which. A malformed
 * annotation is not shown as an identity; refused attestations never give one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_MRENCLAVE, ANNOTATION_MRSIGNER } from '../../src/contract/index.ts';
import {
  createDashboard,
  workloadsView,
  type AuditLine,
  type AttestationSource,
  type KubePod,
  parseMetricsText,
} from '../../src/dashboard/index.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const S = '5'.repeat(64);

function pod(name: string, ip: string, annotations: Record<string, string> = {}): KubePod {
  return {
    metadata: { name, namespace: 'enclaves', annotations },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '8' } } }],
    },
    status: { phase: 'Running', podIP: ip },
  };
}

let id = 0;
const audit = (actor: string, subject: string, decision: AuditLine['decision'], at: string): AuditLine => ({
  id: ++id,
  at,
  action: 'attest',
  actor,
  subject,
  decision,
  reason: decision === 'allow' ? 'token issued' : 'ERR_POLICY_DENIED: denied',
  count: 1,
});

// Newest first, as the service returns them.
const AUDIT: AuditLine[] = [
  audit('10.0.0.2', 'SgxEnclave', 'deny', '2027-03-01T12:00:03Z'),
  audit('10.0.0.2', `mrenclave:${B}`, 'allow', '2027-03-01T12:00:02Z'),
  audit('10.0.0.2', `mrenclave:${A}`, 'allow', '2027-03-01T12:00:01Z'),
  audit('10.0.0.4', 'SgxEnclave', 'deny', '2027-03-01T12:00:00Z'),
];

const PODS = [
  pod('annotated', '10.0.0.2', { [ANNOTATION_MRENCLAVE]: C.toUpperCase(), [ANNOTATION_MRSIGNER]: S }),
  pod('from-audit', '10.0.0.2'),
  pod('bad-annotation', '10.0.0.3', { [ANNOTATION_MRENCLAVE]: 'not-hex', [ANNOTATION_MRSIGNER]: 'x' }),
  pod('only-refused', '10.0.0.4'),
];

test('identity: annotation first, else the newest token issued to the pod IP, else none', () => {
  const v = workloadsView({ nodes: [], pods: PODS }, AUDIT);
  const by = new Map(v.pods.map((p) => [p.name, [p.mrenclave, p.mrsigner, p.identitySource]]));
  assert.deepEqual(by.get('annotated'), [C, S, 'annotation']);
  assert.deepEqual(by.get('from-audit'), [B, undefined, 'audit']);
  assert.deepEqual(by.get('bad-annotation'), [undefined, undefined, undefined]);
  assert.deepEqual(by.get('only-refused'), [undefined, undefined, undefined]);
});

test('the Workloads page shows each identity with where it came from', async () => {
  const attestation: AttestationSource = {
    url: 'http://attestation.invalid',
    health: () => Promise.resolve({}),
    audit: () => Promise.resolve(AUDIT),
    secrets: () => Promise.resolve([]),
    policies: () => Promise.resolve([]),
    metrics: () => Promise.resolve(parseMetricsText('')),
  };
  const d = createDashboard({
    kube: { snapshot: () => Promise.resolve({ nodes: [], pods: PODS }) },
    attestation,
    sampleIntervalMs: 0,
  });
  try {
    const html = (await d.app.inject({ method: 'GET', url: '/workloads' })).body;
    const cell = (name: string): string =>
      new RegExp(`<td>${name}</td>.*?</tr>`, 's').exec(html)?.[0] ?? `(no row for ${name})`;
    assert.match(
      cell('annotated'),
      new RegExp(`title="${C}">${C.slice(0, 16)}…</code> <small>\\(annotation\\)`),
    );
    assert.match(cell('from-audit'), new RegExp(`title="${B}">${B.slice(0, 16)}…</code> <small>\\(audit\\)`));
    for (const name of ['bad-annotation', 'only-refused']) {
      assert.match(cell(name), /<span class="na">unknown<\/span><\/td><\/tr>$/, name);
      assert.doesNotMatch(cell(name), /class="hash"|not-hex/, name);
    }
  } finally {
    await d.close();
  }
});
