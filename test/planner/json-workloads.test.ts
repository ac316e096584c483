/**
 * Workload files in JSON: a file named `*.json`, or whose text starts with `{` or `[`, is read with
 * JSON.parse instead of the YAML parser (large files: milliseconds instead of seconds; the time is in
 * `npm run bench -- plan`). The plans are the same as from the YAML; a top-level array is a list of
 * documents; a `List` is expanded as from YAML; what JSON.parse would accept but the YAML path refuses
 * (a repeated key) is still refused; a broken `*.json` file is a usage error naming the file, the line
 * and the column.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCapture } from '../support/cli.ts';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ccnodes-plan-json-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

const yamlPath = join(root, 'examples', 'planner', 'workloads.yaml');
const objects = parseAllDocuments(readFileSync(yamlPath, 'utf8')).map((d) => d.toJS() as unknown);

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; details: { option: string; line: number; column: number } };
}

async function plan(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCapture(['plan', '--workload', path, '--sku', 'DC2s_v2,DC4s_v3', '--json'], { cwd: dir });
}

describe('ccnodes plan --workload <file.json>', () => {
  test('JSON forms of the example workloads give the same plan as the YAML file', async () => {
    const reference = await plan(yamlPath);
    assert.equal(reference.code, 0, reference.stderr);
    assert.ok(objects.length >= 3);
    const forms: Record<string, string> = {
      'list.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2),
      'array.json': JSON.stringify(objects),
      // JSON text under a YAML name, after blank lines: recognised by its first character.
      'list-in.yaml': `\n  ${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })}\n`,
      'bom.json': `\uFEFF${JSON.stringify({ apiVersion: 'v1', kind: 'DeploymentList', items: objects })}`,
    };
    for (const [name, text] of Object.entries(forms)) {
      const r = await plan(file(name, text));
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), JSON.parse(reference.stdout), name);
    }
  });

  test('text starting with { that is YAML, not JSON, is still read by the YAML parser', async () => {
    const flow = file(
      'flow.yaml',
      '{kind: Pod, metadata: {name: flow}, spec: {containers: [{name: c, resources: {limits: {sgx.intel.com/epc: 8Mi}}}]}}\n',
    );
    const r = await plan(flow);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { workloads: { id: string }[] }).workloads.map((w) => w.id),
      ['Pod/default/flow'],
    );
  });

  test('a repeated key, which JSON.parse would take silently, is refused as the YAML path refuses it', async () => {
    const r = await plan(
      file('dup.json', '{"kind": "Pod", "kind": "Deployment", "metadata": {"name": "x"}}'),
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /dup\.json: document 1: Map keys must be unique/);
  });

  test('a broken .json file is a usage error with the file, line and column', async () => {
    const cases: [string, string, number, number, RegExp][] = [
      // A missing comma: V8 gives the offset of the second key.
      ['comma.json', '{\n  "kind": "Pod",\n  "metadata": {}\n  "spec": {}\n}\n', 4, 3, /Expected ','/],
      // An unexpected token: V8 gives no offset, the YAML parser's position of it is used.
      ['token.json', '{\n  "kind": "Pod",\n  "spec": [1,,2]\n}\n', 3, 14, /Unexpected token ','/],
      // Cut off: the end of the text.
      ['cut.json', '{\n  "kind": "Pod",\n  "spec": [1, 2', 3, 16, /Expected ',' or '\]' after array element/],
    ];
    for (const [name, text, line, column, what] of cases) {
      const r = await plan(file(name, text));
      assert.equal(r.code, 2, name);
      const doc = JSON.parse(r.stdout) as ErrorJson;
      assert.equal(doc.error.code, 'ERR_USAGE', name);
      assert.deepEqual(doc.error.details, { option: '--workload', line, column }, name);
      assert.ok(
        doc.error.message.startsWith(`--workload ${join(dir, name)}: line ${line}, column ${column}: `),
        `${name}: ${doc.error.message}`,
      );
      assert.match(doc.error.message, what, name);
      assert.doesNotMatch(doc.error.message, /is not valid JSON|at position/, name);
    }
  });
});
