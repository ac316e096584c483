/**
 * `--json` errors: every command, for every exit status, prints exactly one JSON document on stdout
 * (`{"ok": false, "error": {"code", "message", "details"}}` when the failure reaches the CLI's
 * central handler) — including commander's own usage errors (unknown option, missing argument) that
 * are raised before a command's action runs, and I/O errors on files named on the command line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.ts';
import { runCapture } from '../support/cli.ts';

const run = promisify(execFile);

/** Every runnable (leaf) command as its word path, enumerated from the registered program. */
async function leafCommands(): Promise<string[][]> {
  const program = await buildProgram({
    stdout: () => undefined,
    stderr: () => undefined,
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
  });
  const out: string[][] = [];
  const walk = (cmd: Command, path: string[]): void => {
    if (cmd.commands.length === 0) out.push(path);
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

/** Parses stdout as exactly one JSON error document and returns its error member. */
function oneJsonError(stdout: string): { code: string; message: string; details: Record<string, unknown> } {
  let doc: unknown;
  assert.doesNotThrow(
    () => {
      doc = JSON.parse(stdout);
    },
    `stdout is one JSON document: ${JSON.stringify(stdout.slice(0, 300))}`,
  );
  assert.equal(typeof doc, 'object');
  const d = doc as { ok?: unknown; error?: Record<string, unknown> };
  assert.equal(d.ok, false);
  const e = d.error ?? {};
  assert.equal(typeof e['code'], 'string');
  assert.match(String(e['code']), /^ERR_[A-Z0-9_]+$/);
  assert.equal(typeof e['message'], 'string');
  assert.ok(String(e['message']).length > 0);
  assert.equal(typeof e['details'], 'object');
  return e as { code: string; message: string; details: Record<string, unknown> };
}

const commands = await leafCommands();

describe('--json errors', () => {
  test('the command tree is enumerated (sanity)', () => {
    assert.ok(commands.length >= 20, `found ${commands.length} commands`);
    assert.ok(commands.some((c) => c.join(' ') === 'quote verify'));
    assert.ok(commands.some((c) => c.join(' ') === 'node device-plugin'));
  });

  for (const path of commands) {
    test(`${path.join(' ')}: unknown option + --json → exit 2, one JSON error on stdout`, async () => {
      for (const argv of [
        [...path, '--no-such-option-xyz', '--json'],
        [...path, '--json', '--no-such-option-xyz'],
      ]) {
        const r = await runCapture(argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
        const e = oneJsonError(r.stdout);
        assert.equal(e.code, 'ERR_USAGE');
        // Commander reports a missing mandatory option before an unknown one.
        assert.ok(
          ['commander.unknownOption', 'commander.missingMandatoryOptionValue'].includes(
            String(e.details['commanderCode']),
          ),
          String(e.details['commanderCode']),
        );
        // A command without its own --json flag rejects --json itself: still reported as JSON.
        if (e.details['commanderCode'] === 'commander.unknownOption')
          assert.match(e.message, /no-such-option-xyz|'--json'/);
        assert.match(r.stderr, /error: /, 'the plain-text error still goes to stderr');
      }
    });
  }

  test('without --json, usage errors stay plain text on stderr with empty stdout', async () => {
    const r = await runCapture(['quote', 'inspect', '--no-such-option-xyz']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unknown option/);
  });

  test('missing argument, unknown command and excess argument with --json', async () => {
    for (const [argv, commanderCode] of [
      [['quote', 'verify', '--collateral', 'c', '--json'], 'commander.missingArgument'],
      [['policy', 'check', '--json'], 'commander.missingArgument'],
      [['quote', 'frobnicate', '--json'], 'commander.unknownCommand'],
      [['quote', 'verify', 'q.bin', '--collateral', '--json'], undefined],
    ] as const) {
      const r = await runCapture(argv);
      assert.equal(r.code, 2, argv.join(' '));
      const e = oneJsonError(r.stdout);
      if (commanderCode !== undefined) {
        assert.equal(e.code, 'ERR_USAGE');
        assert.equal(e.details['commanderCode'], commanderCode, argv.join(' '));
      }
    }
  });

  test('--json after a -- terminator is an argument, not the flag', async () => {
    const r = await runCapture(['quote', 'inspect', '--no-such-option-xyz', '--', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
  });

  describe('I/O errors on files named on the command line', () => {
    let dir: string;
    let missing: string;
    let emptyFile: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ccnodes-json-errors-'));
      missing = join(dir, 'does-not-exist');
      emptyFile = join(dir, 'empty.txt');
      writeFileSync(emptyFile, '');
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    const cases: { name: string; argv: () => string[] }[] = [
      { name: 'quote inspect <missing>', argv: () => ['quote', 'inspect', missing, '--json'] },
      {
        name: 'quote verify <missing>',
        argv: () => ['quote', 'verify', missing, '--collateral', emptyFile, '--json'],
      },
      {
        name: 'quote verify --collateral <missing>',
        argv: () => ['quote', 'verify', emptyFile, '--collateral', missing, '--json'],
      },
      { name: 'policy check <missing>', argv: () => ['policy', 'check', missing, '--json'] },
      {
        name: 'policy eval <missing>',
        argv: () => ['policy', 'eval', missing, '--claims', missing, '--json'],
      },
      { name: 'enclave measure <missing>', argv: () => ['enclave', 'measure', missing, '--json'] },
      {
        name: 'enclave sign <missing> --key <missing>',
        argv: () => ['enclave', 'sign', missing, '--key', missing, '--output', join(dir, 'out.so'), '--json'],
      },
      { name: 'enclave sigstruct <missing>', argv: () => ['enclave', 'sigstruct', missing, '--json'] },
      { name: 'kube mutate --file <missing>', argv: () => ['kube', 'mutate', '--file', missing, '--json'] },
    ];
    for (const c of cases) {
      test(`${c.name} --json → exit 2, one JSON error naming the path`, async () => {
        const r = await runCapture(c.argv());
        assert.equal(r.code, 2, `${c.name}: ${r.stderr}`);
        const e = oneJsonError(r.stdout);
        assert.ok(['ERR_IO', 'ERR_USAGE'].includes(e.code) || e.code.startsWith('ERR_'), e.code);
        assert.ok(
          e.message.includes('does-not-exist') || e.message.includes('empty.txt'),
          `message names the file: ${e.message}`,
        );
      });
    }
  });

  test('the installed executable prints the JSON error on its real stdout', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'ccnodes.js');
    await assert.rejects(
      run(process.execPath, [bin, 'quote', 'inspect', '--bogus', '--json']),
      (err: unknown) => {
        const e = err as { code: number; stdout: string; stderr: string };
        assert.equal(e.code, 2);
        assert.equal(oneJsonError(e.stdout).code, 'ERR_USAGE');
        assert.match(e.stderr, /unknown option '--bogus'/);
        return true;
      },
    );
  });
});
