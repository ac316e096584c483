/**
 * Generated combinations of pod shapes: for every one, the patch applies with a strict RFC 6902
 * applier (parents exist), a second pass is empty (idempotent), both dialects agree afterwards, and
 * the total EPC annotation equals the effective EPC.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analysePod, mutatePod } from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { AZURE, INTEL, type Json } from './fixtures.ts';

const AMOUNTS: [string, string, number][] = [
  [AZURE, '7', 7],
  [INTEL, '7Mi', 7],
  [INTEL, '7000000', 7],
  [INTEL, '0.25Gi', 256],
];
const PLACES = ['limits', 'requests', 'both'] as const;
const QUOTING: (Json | undefined)[] = [
  undefined,
  { 'ccnodes.io/quoting': 'in-process' },
  { 'ccnodes.io/quoting': 'none' },
  { 'sgx.intel.com/quote-provider': 'aesmd' },
];
const EXTRAS = ['plain', 'null-maps', 'existing-lists', 'init+sidecar'] as const;

function build(
  amount: [string, string, number],
  place: (typeof PLACES)[number],
  annotations: Json | undefined,
  extra: (typeof EXTRAS)[number],
): Json {
  const [resource, value] = amount;
  const res: Json = {};
  if (place !== 'requests') res['limits'] = { [resource]: value };
  if (place !== 'limits') res['requests'] = { [resource]: value, cpu: '10m' };
  const app: Json = { name: 'app', image: 'x', resources: res };
  const spec: Json = { containers: [app, { name: 'side', image: 'y' }] };
  const metadata: Json = annotations === undefined ? {} : { annotations: { ...annotations } };
  if (extra === 'null-maps') {
    metadata['annotations'] = annotations === undefined ? null : { ...annotations };
    spec['volumes'] = null;
    spec['tolerations'] = null;
    app['env'] = null;
  } else if (extra === 'existing-lists') {
    spec['volumes'] = [{ name: 'v', emptyDir: {} }];
    spec['tolerations'] = [{ key: 'k', operator: 'Exists', effect: 'NoExecute' }];
    app['env'] = [{ name: 'E', value: '1' }];
    app['volumeMounts'] = [{ name: 'v', mountPath: '/v' }];
  } else if (extra === 'init+sidecar') {
    spec['initContainers'] = [
      { name: 'sc', image: 'z', restartPolicy: 'Always', resources: { limits: { [AZURE]: '3' } } },
      { name: 'init', image: 'z', resources: { limits: { [INTEL]: '500Mi' } } },
    ];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

describe('mutatePod over generated pod shapes', () => {
  let n = 0;
  for (const amount of AMOUNTS)
    for (const place of PLACES)
      for (const q of QUOTING)
        for (const extra of EXTRAS) {
          n++;
          test(`${amount[0]}=${amount[1]} in ${place}, ${JSON.stringify(q ?? {})}, ${extra}`, () => {
            const pod = build(amount, place, q, extra);
            const patch = mutatePod(pod, undefined, { namespace: 'apps' });
            assert.ok(patch.length > 0);
            const patched = applyPatch(pod, patch) as {
              metadata: { annotations: Record<string, string> };
              spec: { containers: { resources: { limits: Record<string, unknown> } }[] };
            };
            assert.deepEqual(mutatePod(patched, undefined, { namespace: 'apps' }), []);
            const limits = patched.spec.containers[0]?.resources.limits ?? {};
            assert.equal(limits[AZURE] ?? '', amount[0] === AZURE ? amount[1] : String(amount[2]));
            assert.equal(limits[INTEL], amount[0] === INTEL ? amount[1] : `${amount[2]}Mi`);
            const expected = extra === 'init+sidecar' ? Math.max(amount[2] + 3, 500 + 3) : amount[2];
            assert.equal(patched.metadata.annotations['ccnodes.io/epc-total-mib'], String(expected));
            assert.equal(analysePod(patched).totalEpcMib, BigInt(expected));
          });
        }
  test('the matrix is the size it claims', () => {
    assert.equal(n, AMOUNTS.length * PLACES.length * QUOTING.length * EXTRAS.length);
  });
});
