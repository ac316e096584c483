/** Error codes, their classes and docs/errors.md stay in step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CcnodesError } from '../../src/errors/index.ts';
import { errorCatalog, renderErrorsDoc } from '../../src/cli/error-catalog.ts';
import { REPO_ROOT } from '../support/testdata.ts';

test('docs/errors.md is exactly what the registries generate (npm run docs:errors)', async () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  assert.equal(doc, renderErrorsDoc(await errorCatalog()));
});

test('codes are unique across modules and shaped ERR_<AREA>_<CONDITION>', async () => {
  const seen = new Map<string, string>();
  for (const { module, registry } of await errorCatalog()) {
    for (const code of Object.keys(registry)) {
      assert.match(code, /^ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/, `${module}: ${code}`);
      assert.equal(seen.get(code), undefined, `${code} is declared by ${seen.get(code) ?? ''} and ${module}`);
      seen.set(code, module);
    }
  }
});

test('each code names an exported error class of its module', async () => {
  for (const { module, registry, exports } of await errorCatalog()) {
    for (const [code, info] of Object.entries(registry)) {
      const cls = exports[info.type];
      assert.equal(typeof cls, 'function', `${module}: ${code} names ${info.type}, which is not exported`);
      assert.ok(
        (cls as { prototype: unknown }).prototype instanceof CcnodesError,
        `${info.type} extends CcnodesError`,
      );
    }
  }
});
