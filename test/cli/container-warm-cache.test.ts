/**
 * `ccnodes container warm-cache` finds the precompiled CLI it runs as (the entry's directory, or
 * `../dist` from the installed package's `bin/ccnodes.js`) and refuses, with a usage error (exit
 * 2), to run from the TypeScript sources or inside another program. What it writes is tested
 * against a real build in test/build/dist.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { precompiledDir } from '../../src/cli/container-warm-cache.ts';
import { runCapture } from '../support/cli.ts';
import { REPO_ROOT } from '../support/testdata.ts';

describe('container warm-cache', () => {
  test('the precompiled CLI is the entry’s directory, or ../dist from an installed bin/ccnodes.js', () => {
    assert.equal(precompiledDir({ command: 'node', args: ['/opt/x/dist/ccnodes.js'] }), '/opt/x/dist');
    assert.equal(precompiledDir({ command: 'node', args: ['/opt/x/dist/ccnodes.cjs'] }), '/opt/x/dist');
    const pkg = mkdtempSync(join(tmpdir(), 'ccnodes-warm-pkg-'));
    try {
      mkdirSync(join(pkg, 'bin'));
      writeFileSync(join(pkg, 'bin', 'ccnodes.js'), '');
      assert.equal(
        precompiledDir({ command: 'node', args: ['--flag', join(pkg, 'bin', 'ccnodes.js')] }),
        join(pkg, 'dist'),
      );
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  test('from a checkout (bin/ccnodes.js next to src/) it is a usage error naming the build', () => {
    assert.throws(() => precompiledDir({ command: 'node', args: [join(REPO_ROOT, 'bin', 'ccnodes.js')] }), {
      code: 'ERR_USAGE',
      message: /TypeScript sources .*npm run build/,
    });
  });

  test('inside another program (no executable to start again) it is a usage error, exit 2, one JSON object', async () => {
    const r = await runCapture(['container', 'warm-cache', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(doc.ok, false);
    assert.equal(doc.error.code, 'ERR_USAGE');
    assert.match(doc.error.message, /runs as the ccnodes executable/);
  });

  test('a precompiled directory without the standalone file is a usage error naming the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-warm-empty-'));
    try {
      let stdout = '';
      const { runCli } = await import('../../src/cli/index.ts');
      const code = await runCli(['container', 'warm-cache', '--json'], {
        stdout: (t) => (stdout += t),
        stderr: () => undefined,
        env: {},
        cwd: dir,
        signal: new AbortController().signal,
        self: { command: process.execPath, args: [join(dir, 'ccnodes.js')] },
        exitCode: 0,
      });
      assert.equal(code, 2);
      const doc = JSON.parse(stdout) as { error: { code: string; details: { path: string } } };
      assert.equal(doc.error.code, 'ERR_USAGE');
      assert.equal(doc.error.details.path, join(dir, 'container-run-fast.cjs'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
