import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { mutatePodWithResult, validatePod } from '../../src/kube/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { validateK8sObject } from './k8s-schema.ts';

const EXAMPLES = join(REPO_ROOT, 'deploy', 'examples');

function docs(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
}

function template(obj: Record<string, unknown>): unknown {
  return (obj['spec'] as { template: unknown }).template;
}

describe('deploy/examples', () => {
  test('every example object validates against the Kubernetes API schemas', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 4);
    for (const f of files) for (const d of docs(f)) validateK8sObject(d);
  });

  test('the hello-world pods in both dialects end up asking for the same EPC', () => {
    const [azure] = docs('hello-world-azure-dialect.yaml');
    const [intel] = docs('hello-world-intel-dialect.yaml');
    assert.ok(azure && intel);
    const limitsOf = (obj: Record<string, unknown>): Record<string, string> => {
      const r = mutatePodWithResult(template(obj), undefined, { namespace: 'default' });
      assert.equal(r.analysis.totalEpcMib, 10n);
      return (
        (r.pod as { spec: { containers: { resources: { limits: Record<string, string> } }[] } }).spec
          .containers[0]?.resources.limits ?? {}
      );
    };
    assert.deepEqual(limitsOf(azure), limitsOf(intel));
    assert.deepEqual(validatePod(template(azure), { largestNodeEpcMiB: 112 }).warnings, []);
    assert.deepEqual(validatePod(template(intel), { largestNodeEpcMiB: 112 }).warnings, []);
  });

  test('the HPA example: every container of the target has a CPU request', () => {
    const [dep, hpa] = docs('deployment-hpa.yaml');
    assert.equal(hpa?.['kind'], 'HorizontalPodAutoscaler');
    const containers = (
      template(dep ?? {}) as { spec: { containers: { resources?: { requests?: Record<string, string> } }[] } }
    ).spec.containers;
    for (const c of containers) assert.ok(c.resources?.requests?.['cpu'] !== undefined);
  });
});
