/**
 * The CommonJS start of the `ccnodes` executable (`dist/ccnodes.cjs`, built by scripts/build.ts;
 * the sources never run it). `container run` and `quote verify`, as runCli's fast paths read them
 * (src/cli/container-run-args.ts, src/cli/quote-verify-args.ts), run from their standalone files
 * through V8's code cache (src/cli/code-cache.ts) without Node's ES module loader and without the
 * CLI's chunks: for a short-lived launcher that loader costs 15-30 ms (issue 14). Every other command
 * line, and a standalone file that cannot be loaded, goes to the ES module main next to it
 * (`dist/ccnodes.js`), which answers it as it always has.
 */
import {
  loadWithCodeCache,
  parseContainerRunArgs,
  parseQuoteVerifyArgs,
  defaultHashHelper,
  hashHelperMode,
  prestartHashes,
  type CliContext,
} from '../cli/index.ts';
import { resolve } from 'node:path';
import { processContext } from './process-context.ts';

/** A standalone file, the function it exports for its command, and the command line as read. */
interface Standalone {
  readonly file: string;
  readonly exportName: string;
  readonly args: unknown;
  /**
   * Work begun before the file is loaded, handed to its function after the context (and aborted
   * if the file cannot be loaded).
   */
  readonly start?: () => { readonly abort: () => void } | undefined;
}

/** The standalone command for `argv`, if it is one (runCli's fast paths, read the same way). */
function standaloneCommand(argv: readonly string[]): Standalone | undefined {
  const containerRun = parseContainerRunArgs(argv);
  if (containerRun !== undefined)
    return {
      file: 'container-run-fast.cjs',
      exportName: 'runContainerRun',
      args: containerRun,
      // The large trusted files start hashing on the other core while the launcher's code loads
      // (src/hash-helper), unless the command line or the environment turns the helper off (a bad
      // value starts nothing: the launcher refuses it); the launcher checks they are its app.sig's
      // and directory's.
      start: () => {
        const m = hashHelperMode(containerRun.flags.hashHelper, process.env);
        return 'mode' in m && m.mode === 'auto'
          ? prestartHashes(
              resolve(containerRun.manifest),
              resolve(containerRun.flags.sig),
              defaultHashHelper({}),
            )
          : undefined;
      },
    };
  const quoteVerify = parseQuoteVerifyArgs(argv);
  if (quoteVerify !== undefined)
    return { file: 'quote-verify-fast.cjs', exportName: 'runQuoteVerify', args: quoteVerify };
  return undefined;
}

type StandaloneRun = (
  args: unknown,
  argv: readonly string[],
  ctx: CliContext,
  started?: unknown,
) => Promise<number>;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const command = standaloneCommand(argv);
  let run: StandaloneRun | undefined;
  const started = command?.start?.();
  if (command !== undefined) {
    try {
      const exported = loadWithCodeCache(new URL(`./${command.file}`, import.meta.url)).exports[
        command.exportName
      ];
      if (typeof exported === 'function') run = exported as StandaloneRun;
    } catch {
      run = undefined; // the ES module main reports what is wrong, as it always has
    }
  }
  if (command === undefined || run === undefined) {
    started?.abort();
    // A specifier the bundler leaves alone: the ES module main, next to this file.
    const main = './ccnodes.js';
    await import(main);
    return;
  }
  const { ctx, finish } = processContext();
  finish(await run(command.args, argv, ctx, started));
}

main().catch((err: unknown) => {
  // Not reached by a command's own failures (the standalone files and the main report those).
  process.stderr.write(
    `ccnodes: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 2;
});
