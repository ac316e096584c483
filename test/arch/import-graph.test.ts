/**
 * The layering of docs/architecture.md (DESIGN.md §2), enforced: every import between modules under
 * src/ must be an allowed edge, and must go through the target module's index.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../support/testdata.ts';

const SRC = join(REPO_ROOT, 'src');

/**
 * Module → modules it may import. `errors` is the shared leaf every module may use; `http-limits`
 * the connection bounds the HTTP servers share; `hash-helper` the launcher's SHA-256 child.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  'http-limits': [],
  'hash-helper': [],
  core: ['errors'],
  policy: ['errors'],
  contract: ['errors'],
  sim: ['errors', 'http-limits', 'core'],
  'collateral-source': ['errors', 'core'],
  attestation: ['errors', 'http-limits', 'core', 'policy', 'collateral-source', 'contract'],
  'node/device-plugin': ['errors', 'http-limits', 'contract'],
  'node/quote-helper': ['errors', 'http-limits', 'core', 'sim', 'contract'],
  kube: ['errors', 'http-limits', 'contract'],
  'attestation-client': ['errors', 'core', 'contract'],
  ratls: ['errors', 'http-limits', 'core', 'sim', 'collateral-source', 'attestation-client'],
  'collateral-service': ['errors', 'http-limits', 'core', 'collateral-source'],
  container: ['errors', 'core', 'sim', 'contract', 'attestation-client', 'hash-helper'],
  planner: ['errors', 'contract'],
  dashboard: ['errors', 'http-limits', 'contract', 'attestation-client'],
  lib: ['errors', 'core', 'sim', 'contract', 'collateral-source', 'attestation-client', 'ratls'],
  cli: [
    'errors',
    'http-limits',
    'hash-helper',
    'core',
    'policy',
    'contract',
    'sim',
    'collateral-source',
    'attestation',
    'node/device-plugin',
    'node/quote-helper',
    'kube',
    'attestation-client',
    'ratls',
    'collateral-service',
    'container',
    'planner',
    'dashboard',
  ],
  bin: ['cli'],
};

function moduleOf(file: string, src = SRC): string | undefined {
  const rel = relative(src, file).split('\\').join('/');
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split('/');
  if (parts[0] === 'node') return `node/${parts[1] ?? ''}`;
  return parts[0];
}

function moduleRoot(mod: string, src: string): string {
  return join(src, ...mod.split('/'));
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;

function violations(src: string, root: string): string[] {
  const found: string[] = [];
  for (const file of listTs(src)) {
    const from = moduleOf(file, src);
    if (from === undefined) continue;
    const allowed = ALLOWED[from];
    const rel = relative(root, file);
    if (allowed === undefined) {
      found.push(`${rel}: module "${from}" is not in the layer table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec === undefined || !spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const to = moduleOf(target, src);
      if (to === undefined) {
        found.push(`${rel}: imports ${spec}, outside src/`);
        continue;
      }
      if (to === from) continue;
      if (!allowed.includes(to)) {
        found.push(`${rel}: ${from} → ${to} is not an allowed edge (${spec})`);
        continue;
      }
      if (target !== join(moduleRoot(to, src), 'index.ts')) {
        found.push(`${rel}: imports ${spec}; cross-module imports must go through ${to}/index.ts`);
      }
    }
  }
  return found;
}

test('every import between src/ modules follows the layer table and uses index.ts', () => {
  assert.deepEqual(violations(SRC, REPO_ROOT), []);
});

test('the checker reports an upward edge and a deep import', () => {
  const root = mkdtempSync(join(tmpdir(), 'ccnodes-arch-'));
  try {
    const src = join(root, 'src');
    for (const d of ['core', 'attestation', 'kube', 'contract']) mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, 'attestation', 'index.ts'), 'export const a = 1;\n');
    writeFileSync(join(src, 'contract', 'index.ts'), 'export const c = 1;\n');
    writeFileSync(join(src, 'contract', 'names.ts'), 'export const n = 1;\n');
    writeFileSync(
      join(src, 'core', 'index.ts'),
      "import { a } from '../attestation/index.ts';\nexport { a };\n",
    );
    writeFileSync(
      join(src, 'kube', 'index.ts'),
      "import { n } from '../contract/names.ts';\nexport { n };\n",
    );
    const found = violations(src, root);
    assert.equal(found.length, 2);
    assert.match(found.join('\n'), /core → attestation is not an allowed edge/);
    assert.match(found.join('\n'), /must go through contract\/index\.ts/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
