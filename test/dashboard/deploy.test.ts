/**
 * `deploy render` with the dashboard on: a Deployment and a Service in the ccnodes namespace, RBAC
 * limited to reading nodes and pods, the admin token mounted from the attestation service's secret,
 * the rendered CA trusted without ever mounting a private key; off by default, and refused without
 * an admin token secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../src/cli/index.ts';
import {
  DEFAULT_VALUES,
  PLACEHOLDER_TLS,
  parseValues,
  renderManifests,
  type K8sObject,
} from '../../src/kube/index.ts';
import { captureContext } from '../support/cli.ts';

const NAMES = { dashboard: 'ccnodes-dashboard', attestationTls: 'ccnodes-attestation-tls' };

function find(objs: K8sObject[], kind: string, name: string): Record<string, unknown> {
  const o = objs.find((x) => x.kind === kind && (x['metadata'] as { name: string }).name === name);
  assert.ok(o, `${kind} ${name}`);
  return o;
}

test('the dashboard is off by default: no dashboard object is rendered', () => {
  assert.equal(DEFAULT_VALUES.dashboard.enabled, false);
  const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
  assert.equal(objs.filter((o) => JSON.stringify(o['metadata']).includes('ccnodes-dashboard')).length, 0);
});

test('enabled, it renders a read-only RBAC, a Deployment with the admin token and only the CA, and a Service', () => {
  const values = parseValues({
    dashboard: { enabled: true, collateralUrl: 'http://ccnodes-collateral.ccnodes-system.svc:8081' },
    attestation: { adminTokenSecret: 'ccnodes-admin' },
  });
  const objs = renderManifests(values, PLACEHOLDER_TLS);
  const role = find(objs, 'ClusterRole', NAMES.dashboard) as {
    rules: { resources: string[]; verbs: string[] }[];
  };
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'list'] }]);
  const dep = find(objs, 'Deployment', NAMES.dashboard) as {
    spec: {
      template: {
        spec: {
          containers: { args: string[]; env: unknown[] }[];
          volumes: { name: string; secret: { secretName: string; items?: { key: string }[] } }[];
        };
      };
    };
  };
  const pod = dep.spec.template.spec;
  const args = pod.containers[0]?.args ?? [];
  assert.deepEqual(args.slice(0, 2), ['dashboard', 'serve']);
  const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
  assert.equal(flag('--attestation-url'), values.attestation.publicUrl);
  assert.equal(flag('--admin-token-file'), '/etc/ccnodes/admin/token');
  assert.equal(flag('--collateral-url'), 'http://ccnodes-collateral.ccnodes-system.svc:8081');
  const ca = pod.volumes.find((v) => v.name === 'attestation-ca');
  assert.ok(ca);
  assert.equal(ca.secret.secretName, NAMES.attestationTls);
  assert.deepEqual(
    ca.secret.items?.map((i) => i.key),
    ['ca.crt'],
  ); // never tls.key
  assert.equal(pod.volumes.find((v) => v.name === 'admin')?.secret.secretName, 'ccnodes-admin');
  const svc = find(objs, 'Service', NAMES.dashboard) as { spec: { ports: { port: number }[] } };
  assert.equal(svc.spec.ports[0]?.port, 8080);
});

test('enabled without an admin token secret is refused (ERR_KUBE_VALUES naming dashboard.enabled)', () => {
  assert.throws(
    () => parseValues({ dashboard: { enabled: true } }),
    (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'ERR_KUBE_VALUES');
      assert.match(err.message ?? '', /dashboard\.enabled/);
      return true;
    },
  );
});

test('the rendered command line is one `ccnodes dashboard serve` accepts: it starts and serves /healthz', async () => {
  const values = parseValues({
    dashboard: { enabled: true, collateralUrl: 'http://ccnodes-collateral.ccnodes-system.svc:8081' },
    attestation: { adminTokenSecret: 'ccnodes-admin' },
  });
  const dep = find(renderManifests(values, PLACEHOLDER_TLS), 'Deployment', NAMES.dashboard) as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const rendered = dep.spec.template.spec.containers[0]?.args ?? [];
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dashboard-deploy-'));
  writeFileSync(join(dir, 'token'), 'rendered-admin-token-0123456789\n');
  // Only what points into the cluster is replaced: the address (loopback, any port), the mounted
  // token file and the two in-cluster URLs (a closed local port, so the first sample fails fast).
  const replace: Record<string, string> = {
    '--listen': '127.0.0.1:0',
    '--admin-token-file': join(dir, 'token'),
    '--attestation-url': 'http://127.0.0.1:1',
    '--collateral-url': 'http://127.0.0.1:1',
  };
  const args = rendered.map((a, i) => replace[rendered[i - 1] ?? ''] ?? a);
  assert.deepEqual(args.filter((a, i) => a !== rendered[i]).sort(), Object.values(replace).sort());
  const stop = new AbortController();
  const ctx = captureContext(stop.signal);
  const run = runCli([...args, '--json'], ctx);
  try {
    let url: string | undefined;
    for (let i = 0; i < 600 && url === undefined; i++) {
      const line = ctx.out.join('').split('\n')[0] ?? '';
      if (line.startsWith('{')) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(url !== undefined, `did not start: ${ctx.err.join('')}`);
    assert.equal((await fetch(`${url}/healthz`)).status, 200); // the probes' path
  } finally {
    stop.abort();
    assert.equal(await run, 0, ctx.err.join(''));
    rmSync(dir, { recursive: true, force: true });
  }
});
