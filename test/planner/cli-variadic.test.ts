/**
 * `--workload` takes several files after one flag, as issue 16 writes it (`ccnodes plan --workload
 * <pods/deployments YAML…>`), and may still be repeated. Neither `plan` nor `plan simulate` has
 * positional arguments: the list ends at the next option, and a bare `simulate` inside it is the verb
 * (a file of that name is written `./simulate`). Any other stray word is still refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCapture } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-plan-variadic-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

function deployment(name: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: c
          resources:
            requests: { cpu: 100m, memory: 64Mi }
            limits: { sgx.intel.com/epc: 16Mi }
`;
}

const a = file('a.yaml', deployment('alpha', 2));
const b = file('b.yaml', deployment('beta', 3));
const c = file('c.yaml', deployment('gamma', 1));
file('simulate', deployment('named-simulate', 1));
const load = file('load.csv', 'time,alpha,beta\n0,0,0\n1m,0,0\n');

interface PlanJson {
  workloads: { id: string; replicas: number }[];
  best: { placedPods: number; countBySku: Record<string, number> };
}

async function plan(args: string[]): Promise<{ code: number; stderr: string; json?: PlanJson }> {
  const r = await runCapture(['plan', ...args, '--sku', 'DC4s_v2', '--json'], { cwd: dir });
  return {
    code: r.code,
    stderr: r.stderr,
    ...(r.code === 0 ? { json: JSON.parse(r.stdout) as PlanJson } : {}),
  };
}

const ids = (j: PlanJson | undefined): string[] => (j?.workloads ?? []).map((w) => w.id);

describe('ccnodes plan --workload <files...>', () => {
  test('several files after one --workload plan all of them, as the repeated flag does', async () => {
    const listed = await plan(['--workload', a, b, c]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(ids(listed.json), [
      'Deployment/default/alpha',
      'Deployment/default/beta',
      'Deployment/default/gamma',
    ]);
    assert.equal(listed.json?.best.placedPods, 6);
    const repeated = await plan(['--workload', a, '--workload', b, '--workload', c]);
    assert.deepEqual(repeated.json, listed.json);
    const mixed = await plan(['--workload', a, b, '--workload', c]);
    assert.deepEqual(mixed.json, listed.json);
  });

  test('the list ends at the next option; relative names are read from the working directory', async () => {
    const r = await runCapture(['plan', '--workload', 'a.yaml', 'b.yaml', '--sku', 'DC4s_v2', '--json'], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(JSON.parse(r.stdout) as PlanJson), [
      'Deployment/default/alpha',
      'Deployment/default/beta',
    ]);
  });

  test('a file named like the verb is read when written ./simulate', async () => {
    const r = await plan(['--workload', a, './simulate']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(r.json), ['Deployment/default/alpha', 'Deployment/default/named-simulate']);
  });

  test('a word that is not an option value is still refused (no positional arguments)', async () => {
    const r = await runCapture(['plan', '--sku', 'DC4s_v2', 'stray.yaml', '--workload', a], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /too many arguments/);
  });

  test('--workload without a file is a usage error', async () => {
    const r = await runCapture(['plan', '--workload'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--workload <files\.\.\.>.*argument missing/);
  });
});

interface Report {
  parameters: { workloads: string };
  samples: { workloads: Record<string, unknown> }[];
}

async function simulate(name: string, args: string[]): Promise<Report> {
  const out = join(dir, name);
  const r = await runCapture([...args, '--load', load, '-o', out, '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
}

describe('ccnodes plan simulate --workload <files...>', () => {
  test('several files after one --workload are all simulated', async () => {
    const report = await simulate('listed', ['plan', 'simulate', '--workload', a, b, '--sku', 'DC4s_v2']);
    assert.equal(report.parameters.workloads, `${a}, ${b}`);
    assert.deepEqual(Object.keys(report.samples[0]?.workloads ?? {}).sort(), ['alpha', 'beta']);
    const repeated = await simulate('repeated', [
      'plan',
      'simulate',
      '--workload',
      a,
      '--workload',
      b,
      '--sku',
      'DC4s_v2',
    ]);
    assert.deepEqual(repeated, report);
  });

  test("the list may follow simulate's own options, or be split around them", async () => {
    const after = await simulate('after', [
      'plan',
      'simulate',
      '--sku',
      'DC4s_v2',
      '--step',
      '15s',
      '--workload',
      a,
      b,
    ]);
    assert.equal(after.parameters.workloads, `${a}, ${b}`);
    const split = await simulate('split', [
      'plan',
      'simulate',
      '--workload',
      a,
      '--step',
      '15s',
      '--workload',
      b,
    ]);
    assert.equal(split.parameters.workloads, `${a}, ${b}`);
  });

  test('the verb after a --workload list ends the list: plan --workload a b simulate … is plan simulate', async () => {
    const report = await simulate('verb-after', ['plan', '--workload', a, b, 'simulate', '--sku', 'DC4s_v2']);
    assert.equal(report.parameters.workloads, `${a}, ${b}`);
    assert.deepEqual(Object.keys(report.samples[0]?.workloads ?? {}).sort(), ['alpha', 'beta']);
  });
});
