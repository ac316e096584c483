/**
 * `ccnodes quote verify` starts without commander (src/cli/quote-verify-args.ts reads the ordinary
 * command lines itself; issue 15). These specs hold it to what commander does: for every command
 * line it reads, the quote and flags are exactly the ones commander hands the action; every other
 * command line is left to commander; and runCli answers each command line of a corpus (verdicts,
 * usage and I/O errors, help, bad options) byte for byte as the commander path does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram, type CliContext } from '../../src/cli/index.ts';
import { ENCODING_FLAG, encodingHelp } from '../../src/cli/input-encoding.ts';
import { parseQuoteVerifyArgs, QUOTE_VERIFY_OPTIONS } from '../../src/cli/quote-verify-args.ts';
import { assertSameAsCommander } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

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

/** What commander hands `quote verify`'s action for `argv` (the action replaced by a recorder). */
async function commanderReading(
  argv: readonly string[],
): Promise<{ quote: string; flags: Record<string, unknown> } | undefined> {
  const program = await buildProgram(quietCtx(), argv);
  const verify = program.commands
    .find((c) => c.name() === 'quote')
    ?.commands.find((c: Command) => c.name() === 'verify');
  assert.ok(verify);
  let seen: { quote: string; flags: Record<string, unknown> } | undefined;
  verify.action((quote: string, flags: Record<string, unknown>) => {
    seen = { quote, flags: { ...flags } };
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch {
    return undefined; // commander refused the command line (usage error, help, version)
  }
  return seen;
}

const QV = ['quote', 'verify'];

/** Command lines the fast reader accepts. */
const READ: readonly (readonly string[])[] = [
  [...QV, 'q.bin'],
  [...QV, 'q.bin', '--collateral', 'c.json', '--now', '2025-07-19T10:01:17Z'],
  [...QV, '--collateral', 'c.json', 'q.bin', '--json'],
  [...QV, 'q.bin', '--collateral=c.json', '--now=2025-07-19T10:01:17Z', '--encoding=hex'],
  [...QV, 'q.bin', '--collateral', 'a.json', '--collateral', 'b.json'],
  [...QV, 'q.bin', '--now', '--json'], // a value is the next word, whatever it looks like
  [...QV, 'q.bin', '--now', '-h'],
  [...QV, 'q.bin', '--collateral', '--help'],
  [...QV, 'q.bin', '--collateral='],
  [...QV, 'q.bin', '--pccs-url', 'http://127.0.0.1:1', '--collateral-api', 'pccs', '--root-ca-crl-url', 'x'],
  [...QV, 'q.bin', '--trust-simulated-root', 'r.pem', '--allow-debug', '--allow-expired-collateral'],
  [...QV, 'q.bin', '--json', '--json'],
  [...QV, '', '--encoding', 'base64'],
  [...QV, 'help'],
  [...QV, 'q.bin', '--now', 'a=b'],
];

/** Command lines left to commander (help, version, errors, anything unusual). */
const LEFT: readonly (readonly string[])[] = [
  [...QV],
  [...QV, '--json'],
  [...QV, 'q.bin', '--help'],
  [...QV, 'q.bin', '-h'],
  [...QV, '--help', 'q.bin'],
  [...QV, 'q.bin', '--version'],
  [...QV, 'q.bin', '-V'],
  [...QV, 'q.bin', '--collateral', '-V'], // the root program prints its version even here
  [...QV, 'q.bin', '--now', '--version'],
  [...QV, 'q.bin', 'extra'],
  [...QV, 'q.bin', '--no-such-option'],
  [...QV, 'q.bin', '--json=1'],
  [...QV, 'q.bin', '--collateral'],
  [...QV, 'q.bin', '--'],
  [...QV, '--', 'q.bin'],
  [...QV, '-', '--json'],
  [...QV, '-5'],
  [...QV, 'q.bin', '--Json'],
  [...QV, 'q.bin', '--=x'],
  ['quote', '--json', 'verify', 'q.bin'],
  ['--json', 'quote', 'verify', 'q.bin'],
  ['quote', 'inspect', 'q.bin'],
  ['help', 'quote', 'verify'],
];

describe('quote verify command line without commander', () => {
  test('reads exactly what commander hands the action', async () => {
    for (const argv of READ) {
      const ours = parseQuoteVerifyArgs(argv);
      assert.ok(ours, `read: ${argv.join(' ')}`);
      const theirs = await commanderReading(argv);
      assert.ok(theirs, `commander accepts: ${argv.join(' ')}`);
      assert.deepEqual({ quote: ours.quote, flags: { ...ours.flags } }, theirs, argv.join(' '));
    }
  });

  test('leaves everything else to commander', () => {
    for (const argv of LEFT) assert.equal(parseQuoteVerifyArgs(argv), undefined, argv.join(' '));
  });

  test('the options are the ones quote verify registers, --encoding as the shared helper writes it', async () => {
    const program = await buildProgram(quietCtx(), ['quote', 'verify']);
    const verify = program.commands
      .find((c) => c.name() === 'quote')
      ?.commands.find((c) => c.name() === 'verify');
    assert.deepEqual(
      verify?.options.map((o): unknown[] => [o.flags, o.description, o.defaultValue as unknown]),
      QUOTE_VERIFY_OPTIONS.map((o) => [o.flags, o.description, o.defaultValue]),
    );
    assert.deepEqual(QUOTE_VERIFY_OPTIONS[0], {
      flags: ENCODING_FLAG,
      description: encodingHelp('the quote file'),
      defaultValue: 'auto',
    });
  });

  test('quote-verify-args.ts imports at run time only plain-command-line.ts, which imports nothing (src/cli/index.ts loads them for every command)', () => {
    const importsOf = (file: string): string[] =>
      readFileSync(new URL(`../../src/cli/${file}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => /^import\b/.test(l) && !/^import type /.test(l));
    assert.deepEqual(importsOf('quote-verify-args.ts'), [
      "import { readPlainCommandLine } from './plain-command-line.ts';",
    ]);
    assert.deepEqual(importsOf('plain-command-line.ts'), []);
  });
});

describe('runCli answers quote verify as the commander path does', { skip: testdataSkip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-qv-args-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const both = (argv: readonly string[]): Promise<void> => assertSameAsCommander(argv, { cwd: dir });

  test('verdicts, refusals, usage and I/O errors, help and bad options, with and without --json', async () => {
    const quote = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote');
    const collateral = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json');
    const now = '2025-07-19T10:01:17Z';
    writeFileSync(join(dir, 'bad.json'), '{"tcbInfo": 1}');
    writeFileSync(join(dir, 'not-a-quote.bin'), 'hello');
    const cases: string[][] = [
      [quote, '--collateral', collateral, '--now', now],
      [quote, '--collateral', collateral, '--now', '2031-01-01T00:00:00Z'], // expired collateral: 1
      [quote, '--collateral', collateral, '--now', now, '--allow-debug', '--encoding', 'binary'],
      [quote, '--collateral', collateral, '--now', now, '--encoding', 'hex'], // wrong encoding: 2
      [quote, '--collateral', collateral, '--now', now, '--encoding', 'utf7'],
      [quote, '--collateral', collateral, '--now', 'yesterday'],
      [quote, '--collateral', 'bad.json', '--now', now],
      [quote, '--collateral', 'missing.json', '--now', now],
      ['missing.bin', '--collateral', collateral],
      ['not-a-quote.bin', '--collateral', collateral],
      [quote, '--collateral', collateral, '--pccs-url', 'http://127.0.0.1:1'],
      [quote, '--collateral', collateral, '--collateral-api', 'pcs'],
      [quote, '--collateral', collateral, '--now', now, '--trust-simulated-root', quote],
      [quote, '--collateral', collateral, '--no-such-option'],
      [quote, 'extra', '--collateral', collateral],
      [quote, '--collateral'],
      [quote, '--collateral', '-V'],
      [quote, '--help'],
      [],
    ];
    for (const c of cases) {
      await both([...QV, ...c]);
      await both([...QV, ...c, '--json']);
    }
  });
});
