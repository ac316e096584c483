/**
 * `ccnodes container run` starts without commander (src/cli/container-run-args.ts reads the ordinary
 * command lines itself; issue 14: launch overhead). These specs hold it to what commander does: for
 * every command line it reads, the manifest, the program's arguments (before and after `--`) and the
 * flags are exactly the ones commander hands the action; every other command line is left to
 * commander; and runCli answers a corpus of refused command lines (usage and input errors, help, bad
 * options, with and without --json) byte for byte as the commander path does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram, type CliContext } from '../../src/cli/index.ts';
import { assertSameAsCommander } from '../support/cli.ts';
import {
  CONTAINER_RUN_ARGUMENTS,
  CONTAINER_RUN_OPTIONS,
  parseContainerRunArgs,
} from '../../src/cli/container-run-args.ts';

function quietCtx(): CliContext {
  return {
    stdout: () => undefined,
    stderr: () => undefined,
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
  };
}

interface Reading {
  manifest: string;
  args: string[];
  flags: Record<string, unknown>;
}

async function runCommand(argv: readonly string[]): Promise<{ program: Command; run: Command }> {
  const program = await buildProgram(quietCtx(), argv);
  const run = program.commands
    .find((c) => c.name() === 'container')
    ?.commands.find((c: Command) => c.name() === 'run');
  assert.ok(run);
  return { program, run };
}

/** What commander hands `container run`'s action for `argv` (the action replaced by a recorder). */
async function commanderReading(argv: readonly string[]): Promise<Reading | undefined> {
  const { program, run } = await runCommand(argv);
  let seen: Reading | undefined;
  run.action((manifest: string, args: string[], flags: Record<string, unknown>) => {
    seen = { manifest, args: [...args], flags: { ...flags } };
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch {
    return undefined; // commander refused the command line (usage error, help, version)
  }
  return seen;
}

const CR = ['container', 'run'];

/** Command lines the fast reader accepts. */
const READ: readonly (readonly string[])[] = [
  [...CR, 'app.yaml', '--sig', 'app.sig'],
  [...CR, '--sig', 'app.sig', 'app.yaml'],
  [...CR, 'app.yaml', '--sig=app.sig', '--retries=2', '--data-dir=/tmp/d'],
  [...CR, 'app.yaml', '--sig', 'a.sig', '--sig', 'b.sig'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--quiet', '--json', '--allow-core-dumps'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--attestation-url', 'http://127.0.0.1:1', '--aesm-socket', 's'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--sim-seed', 'seed', '--sim-platform', 'dc2sv3'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--', 'a', '--json', '-V', '--help', '-', '--'],
  [...CR, 'app.yaml', '--sig', 'app.sig', 'x', 'y', '--quiet', 'z'],
  [...CR, 'app.yaml', 'x', '--sig', 'app.sig', '--', 'y', '--sig', 'other'],
  [...CR, '--sig', 'app.sig', '--', 'app.yaml', '--quiet'],
  [...CR, 'app.yaml', '--sig', '--json'], // a value is the next word, whatever it looks like
  [...CR, 'app.yaml', '--sig', '-h'],
  [...CR, 'app.yaml', '--sig', '--', 'x'],
  [...CR, 'app.yaml', '--sig='],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--data-dir', 'a=b'],
  [...CR, '', '--sig', 'app.sig'],
  [...CR, 'help', '--sig', 'app.sig'],
];

/** Command lines left to commander (help, version, errors, anything unusual). */
const LEFT: readonly (readonly string[])[] = [
  [...CR],
  [...CR, 'app.yaml'],
  [...CR, '--sig', 'app.sig'],
  [...CR, 'app.yaml', '--sig'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--help'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '-h'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--version'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '-V'],
  [...CR, 'app.yaml', '--sig', '-V'],
  [...CR, 'app.yaml', '--sig', '--version'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--no-such-option'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--json=1'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '-'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '-5'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--Quiet'],
  [...CR, 'app.yaml', '--sig', 'app.sig', '--=x'],
  [...CR, 'app.yaml', '--', '--sig', 'app.sig'],
  [...CR, '--', 'app.yaml', '--sig', 'app.sig'],
  [...CR, '--sig', 'app.sig', '--'],
  ['container', '--json', 'run', 'app.yaml', '--sig', 'app.sig'],
  ['--json', 'container', 'run', 'app.yaml', '--sig', 'app.sig'],
  ['container', 'verify', 'app.yaml', 'app.sig'],
  ['help', 'container', 'run'],
];

describe('container run command line without commander', () => {
  test('reads exactly what commander hands the action', async () => {
    for (const argv of READ) {
      const ours = parseContainerRunArgs(argv);
      assert.ok(ours, `read: ${argv.join(' ')}`);
      const theirs = await commanderReading(argv);
      assert.ok(theirs, `commander accepts: ${argv.join(' ')}`);
      assert.deepEqual(
        { manifest: ours.manifest, args: [...ours.args], flags: { ...ours.flags } },
        theirs,
        argv.join(' '),
      );
    }
  });

  test('leaves everything else to commander', () => {
    for (const argv of LEFT) assert.equal(parseContainerRunArgs(argv), undefined, argv.join(' '));
  });

  test('the arguments and options are the ones container run registers', async () => {
    const { run } = await runCommand(CR);
    assert.deepEqual(
      run.registeredArguments.map((a) => [a.name(), a.required, a.variadic, a.description]),
      CONTAINER_RUN_ARGUMENTS.map((a) => [
        a.name.slice(1, -1).replace('...', ''),
        a.name.startsWith('<'),
        a.name.endsWith('...]'),
        a.description,
      ]),
    );
    assert.deepEqual(
      run.options.map((o): unknown[] => [o.flags, o.description, o.defaultValue as unknown, o.mandatory]),
      CONTAINER_RUN_OPTIONS.map((o) => [o.flags, o.description, o.defaultValue, o.required === true]),
    );
  });

  test('container-run-args.ts imports at run time only plain-command-line.ts, which imports nothing (src/cli/index.ts loads them for every command)', () => {
    const importsOf = (file: string): string[] =>
      readFileSync(new URL(`../../src/cli/${file}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => /^import\b/.test(l) && !/^import type /.test(l));
    assert.deepEqual(importsOf('container-run-args.ts'), [
      "import { readPlainCommandLine } from './plain-command-line.ts';",
    ]);
    assert.deepEqual(importsOf('plain-command-line.ts'), []);
  });
});

describe('runCli answers container run as the commander path does', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-cr-args-'));
    writeFileSync(join(dir, 'bad.yaml'), 'name: [unclosed\n');
    writeFileSync(
      join(dir, 'app.json'),
      JSON.stringify({ name: 'a', entrypoint: ['true'], trustedFiles: ['x'] }),
    );
    writeFileSync(join(dir, 'not.sig'), 'hello');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const both = (argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<void> =>
    assertSameAsCommander(argv, { cwd: dir, env });

  test('usage and input errors, refused files, help and bad options, with and without --json', async () => {
    const seed = ['--sim-seed', 'cr-args', '--quiet'];
    const cases: string[][] = [
      ['app.json', '--sig', 'app.sig', '--retries', '0', ...seed],
      ['app.json', '--sig', 'app.sig', '--retries', 'x', ...seed],
      ['app.json', '--sig', 'app.sig', '--sim-seed', ''],
      ['app.json', '--sig', 'app.sig'], // neither --data-dir nor --sim-seed, and no HOME
      ['missing.yaml', '--sig', 'app.sig', ...seed],
      ['bad.yaml', '--sig', 'app.sig', ...seed],
      ['app.json', '--sig', 'missing.sig', ...seed],
      ['app.json', '--sig', 'not.sig', ...seed, '--', 'a', 'b'],
      ['app.json', '--sig', 'not.sig', '--sim-seed', 'cr-args', '--', '--quiet'],
      ['app.json', '--sig', 'app.sig', '--no-such-option'],
      ['app.json'],
      ['app.json', '--sig'],
      ['app.json', '--sig', 'app.sig', '--help'],
      [],
    ];
    for (const c of cases) {
      await both([...CR, ...c]);
      await both([...CR, ...c, '--json']);
    }
  });
});
