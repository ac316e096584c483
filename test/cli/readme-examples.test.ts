/**
 * The README's "Verify a real quote" commands, and the same block in examples/real-quote/README.md,
 * run exactly as written (parsed out of the Markdown, `npx ccnodes` → this repository's executable,
 * from the repository root) and print the status and advisories the block shows. The example data
 * ships in the repository, so this needs no ../shared/testdata.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ccnodes.js');

interface ShellBlock {
  /** Command lines (continuations joined), each starting with `npx ccnodes`. */
  readonly commands: string[];
  /** The `# …` lines: expected output of the last command. */
  readonly expected: string[];
}

/** The first ```sh block after `heading` (or the first in the file without one). */
function shellBlock(markdown: string, heading?: string): ShellBlock {
  const from = heading === undefined ? 0 : markdown.indexOf(heading);
  assert.ok(from >= 0, `heading ${heading ?? ''} present`);
  const m = /```sh\n([\s\S]*?)```/.exec(markdown.slice(from));
  assert.ok(m !== null, 'a ```sh block follows');
  const lines = (m[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n');
  return {
    commands: lines.filter((l) => l.startsWith('npx ccnodes ')),
    expected: lines.filter((l) => l.startsWith('# ')).map((l) => l.slice(2)),
  };
}

async function ccnodes(commandLine: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = commandLine
    .replace(/^npx ccnodes /, '')
    .trim()
    .split(/\s+/);
  assert.ok(
    argv.every((a) => !/["'`$]/.test(a)),
    `simple arguments only (no quoting) in: ${commandLine}`,
  );
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...argv], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const sources: { file: string; heading?: string }[] = [
  { file: 'README.md', heading: '## Verify a real quote' },
  { file: 'examples/real-quote/README.md' },
];

describe('README examples run as written', () => {
  for (const { file, heading } of sources) {
    test(`${file}: every command exits 0; verify prints the status and advisories shown`, async () => {
      const block = shellBlock(readFileSync(join(ROOT, file), 'utf8'), heading);
      assert.equal(block.commands.length, 2, block.commands.join('\n'));
      assert.ok(
        block.commands.every((c) => !c.includes('shared/testdata')),
        'the commands use data shipped in the repository',
      );
      assert.deepEqual(block.expected, [
        'verified: ConfigurationAndSWHardeningNeeded',
        'advisories: INTEL-SA-00289, INTEL-SA-00615',
      ]);
      let last = '';
      for (const command of block.commands) {
        const r = await ccnodes(command);
        assert.equal(r.code, 0, `${command}\n${r.stderr}`);
        last = r.stdout;
      }
      const printed = last.split('\n');
      for (const line of block.expected) assert.ok(printed.includes(line), `prints "${line}":\n${last}`);
    });
  }

  test('the shipped files are the ones the provenance table names (sha256)', () => {
    const readme = readFileSync(join(ROOT, 'examples/real-quote/README.md'), 'utf8');
    for (const name of ['sgx_quote', 'sgx_quote_collateral.json']) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      const want = /`([0-9a-f]{64})`/.exec(row ?? '')?.[1];
      assert.ok(want !== undefined, `hash of ${name} in the table`);
      const got = createHash('sha256')
        .update(readFileSync(join(ROOT, 'examples/real-quote', name)))
        .digest('hex');
      assert.equal(got, want, name);
    }
  });
});
