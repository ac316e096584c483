/**
 * The command tree is loaded lazily (src/cli/index.ts): `ccnodes --help` is built from
 * AREA_SUMMARIES without importing any area file, and a command imports only the files of its area.
 * These specs keep the tables honest against what the area files really register.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import {
  AREA_FILES,
  AREA_SUMMARIES,
  areaFilesFor,
  buildProgram,
  type CliContext,
} from '../../src/cli/index.ts';

function ctx(): CliContext {
  return {
    stdout: () => undefined,
    stderr: () => undefined,
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
  };
}

describe('lazy command tree', () => {
  test('the root help without area files is the root help of the full tree', async () => {
    const full = await buildProgram(ctx());
    const lazy = await buildProgram(ctx(), ['--help']);
    assert.equal(lazy.helpInformation(), full.helpInformation());
  });

  test('each area file registers exactly the top-level commands its table row names', async () => {
    for (const file of AREA_FILES) {
      const program = new Command('ccnodes');
      (await file.load())(program, ctx());
      assert.deepEqual(
        program.commands.map((c) => c.name()),
        [...file.areas],
        `a file listed for ${file.areas.join(', ')} registers other top-level commands`,
      );
    }
  });

  test('every area has a summary and every summary an area file', () => {
    const fromFiles = [...new Set(AREA_FILES.flatMap((f) => f.areas))];
    assert.deepEqual(
      AREA_SUMMARIES.map((a) => a.name),
      fromFiles,
    );
  });

  test('a command loads only its area; the root alone loads none; anything else loads all', () => {
    assert.deepEqual(areaFilesFor(['quote', 'verify', 'q.bin']), ['quote']);
    assert.deepEqual(areaFilesFor(['--json', 'node', 'doctor']), ['node']);
    assert.equal(areaFilesFor(['--help']), 'none');
    assert.equal(areaFilesFor(['-V']), 'none');
    assert.equal(areaFilesFor(['help', 'quote']), 'all');
    assert.equal(areaFilesFor(['no-such-area']), 'all');
    assert.equal(areaFilesFor(['--', 'quote']), 'all');
    assert.equal(areaFilesFor(undefined), 'all');
  });

  test('a lazily built program for one area has that area with all its verbs', async () => {
    const full = await buildProgram(ctx());
    const lazy = await buildProgram(ctx(), ['node', 'doctor']);
    assert.deepEqual(
      lazy.commands.map((c) => c.name()),
      ['node'],
    );
    const verbs = (p: Command): string[] =>
      (p.commands.find((c) => c.name() === 'node')?.commands ?? []).map((c) => c.name());
    assert.deepEqual(verbs(lazy), verbs(full));
  });
});
