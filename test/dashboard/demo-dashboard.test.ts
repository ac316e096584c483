/**
 * `ccnodes demo --keep-running` starts the dashboard too: over the running demo stack (in process,
 * as the command runs it), every page answers, and its numbers are the demo's own — the node's EPC
 * as the device plugin advertised it, the EPC kubelet's peer allocated, the enclave's MRENCLAVE
 * (from the audit log of the token the demo got), the collateral of the simulated PCS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDemoDashboard, DEMO_POD } from '../../src/cli/dashboard-demo.ts';
import { runDemo } from '../../src/cli/demo.ts';
import { DEMO_NODE } from '../../src/cli/demo-stack.ts';
import { PAGES } from '../../src/dashboard/index.ts';
import { dataValues } from './page-values.ts';

test(
  'the demo dashboard shows the demo node, its enclave pod, the attestation and the collateral',
  { timeout: 120_000 },
  async () => {
    let failure: unknown;
    const details = new Map<string, Record<string, unknown>>();
    let checked = false;
    const report = await runDemo({
      onStep: (e) => {
        if (e.phase === 'end' && e.result?.detail !== undefined) details.set(e.id, e.result.detail);
      },
      keep: async (stack) => {
        const d = await startDemoDashboard(stack);
        try {
          const get = async <T>(path: string): Promise<T> => {
            const res = await fetch(`${d.url}${path}`);
            assert.equal(res.status, 200, path);
            return (await res.json()) as T;
          };
          const nodes = await get<{
            sgxNodes: {
              name: string;
              epcMib: { capacity: number; allocated: number };
              agents: { kind: string; healthy: boolean; doctor?: { check: string; status: string }[] }[];
            }[];
          }>('/api/nodes');
          const node = nodes.sgxNodes.find((n) => n.name === DEMO_NODE);
          assert.ok(node);
          const allocate = details.get('allocate');
          assert.equal(node.epcMib.capacity, allocate?.['advertisedMiB']);
          assert.equal(node.epcMib.allocated, allocate?.['epcMiB']);
          assert.deepEqual(node.agents.map((a) => [a.kind, a.healthy]).sort(), [
            ['device-plugin', true],
            ['quote-helper', true],
          ]);
          // The node doctor's checks, as the device plugin exports them: a simulated node fails none.
          const doctor = node.agents.find((a) => a.kind === 'device-plugin')?.doctor ?? [];
          assert.equal(doctor.find((c) => c.check === 'epc')?.status, 'pass', JSON.stringify(doctor));
          assert.ok(doctor.length >= 9 && doctor.every((c) => c.status !== 'fail'), JSON.stringify(doctor));
          const workloads = await get<{
            pods: { name: string; mrenclave?: string; identitySource?: string }[];
          }>('/api/workloads');
          const pod = workloads.pods.find((p) => p.name === DEMO_POD.name);
          const att = await get<{
            allowed: number;
            events: { action: string; decision: string; subject: string; actor: string }[];
          }>('/api/attestations');
          // Every enclave of the demo attests from loopback: the pod (IP 127.0.0.1) is shown with the
          // MRENCLAVE of the newest token issued to that address — the demo enclave's among them.
          const allowed = att.events.filter((e) => e.action === 'attest' && e.decision === 'allow');
          assert.ok(
            allowed.some((e) => e.subject === `mrenclave:${String(details.get('measure')?.['mrenclave'])}`),
          );
          assert.equal(
            `mrenclave:${pod?.mrenclave ?? ''}`,
            allowed.find((e) => e.actor === '127.0.0.1')?.subject,
          );
          assert.equal(pod?.identitySource, 'audit');
          assert.ok(att.events.some((e) => e.action === 'secret-release' && e.decision === 'allow'));
          const collateral = await get<{ fmspcs: { fmspc: string; nextUpdate: string }[] }>(
            '/api/collateral',
          );
          assert.deepEqual(
            collateral.fmspcs.map((f) => f.fmspc).sort(),
            [...stack.fmspcs].map((f) => f.toUpperCase()).sort(),
          );
          assert.ok(collateral.fmspcs.every((f) => Date.parse(f.nextUpdate) > Date.now()));
          for (const p of PAGES) {
            const res = await fetch(`${d.url}${p.path}`);
            assert.equal(res.status, 200, p.path);
            const html = await res.text();
            assert.doesNotMatch(html, /class="notice"/, `${p.path} shows a source error`);
            assert.ok(!html.includes(stack.adminToken), `${p.path} leaks the admin token`);
          }
          const page = dataValues(await (await fetch(`${d.url}/nodes`)).text());
          assert.equal(page.get(`node.${DEMO_NODE}.epcMib.allocated`), String(allocate?.['epcMiB']));
          checked = true;
        } catch (err) {
          failure = err; // reported after the demo has shut down cleanly
        } finally {
          await d.close();
        }
      },
    });
    if (failure !== undefined)
      throw failure instanceof Error ? failure : new Error('check failed', { cause: failure });
    assert.equal(report.ok, true);
    assert.equal(checked, true);
  },
);
