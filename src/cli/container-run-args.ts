/**
 * The command line of `ccnodes container run`, declared once: container.ts registers it with
 * commander (help text, defaults), and {@link parseContainerRunArgs} reads the ordinary invocations
 * without commander, so that `container run` starts without loading it (issue 14: launch overhead;
 * src/cli/container-run-fast.ts is built into one self-contained file).
 *
 * This module imports only plain-command-line.ts, which imports nothing: src/cli/index.ts loads it
 * for every invocation.
 */
import type { RunFlags } from './container-run.ts';
import { readPlainCommandLine } from './plain-command-line.ts';

/** One option of `container run` as commander declares it. */
export interface ContainerRunOption {
  /** The flags as commander spells them: `--name` (a switch) or `--name <value>`. */
  readonly flags: string;
  readonly description: string;
  /** The value when the option is absent (commander's default value). */
  readonly defaultValue?: string;
  /** Registered with `requiredOption` (commander refuses the command line without it). */
  readonly required?: boolean;
}

export const CONTAINER_RUN_DESCRIPTION =
  'Run the app under attestation: recheck the trusted files, launch the identity (EINIT), quote, attest, ' +
  'have every secret released, then start the unmodified program with its secrets (env or private ' +
  "files). Exit status: the program's; 1 when a check fails (the program never starts); 2 on bad input. " +
  'Large trusted files are hashed by an openssl child when /usr/bin/openssl exists (--hash-helper).';

/** The arguments: `<manifest>`, then the program's extra arguments. */
export const CONTAINER_RUN_ARGUMENTS = [
  { name: '<manifest>', description: 'app manifest' },
  { name: '[args...]', description: 'extra arguments for the program, after --' },
] as const;

/** The options in the order `--help` lists them. */
export const CONTAINER_RUN_OPTIONS: readonly ContainerRunOption[] = [
  { flags: '--sig <file>', description: 'app.sig written by `container prepare`', required: true },
  { flags: '--attestation-url <url>', description: 'attestation service (overrides attestation.url)' },
  {
    flags: '--aesm-socket <path>',
    description:
      'quote through this AESM socket (default: $SGX_AESM_ADDR set or /var/run/aesmd/aesm.socket present, else the in-process simulated platform)',
  },
  {
    flags: '--data-dir <dir>',
    description:
      "simulated platform's data directory (as `node quote-helper --data-dir`; default $CCNODES_DATA_DIR or ~/.local/share/ccnodes)",
  },
  { flags: '--sim-seed <text>', description: 'derive the simulated platform from this seed instead (tests)' },
  {
    flags: '--sim-platform <name>',
    description: 'in-process simulated platform preset (`ccnodes sim platforms`)',
  },
  {
    flags: '--retries <n>',
    description: 'attempts to reach the attestation service (1-10)',
    defaultValue: '4',
  },
  {
    flags: '--hash-helper <mode>',
    description:
      "auto: large trusted files are hashed by openssl from /usr/bin or /bin, when there is one, on another core; off: all in the launcher (for a launcher not from the app's image, as the webhook injects it). Default: $CCNODES_HASH_HELPER, else auto",
  },
  { flags: '--quiet', description: 'no progress lines on stderr' },
  {
    flags: '--allow-core-dumps',
    description:
      "leave the launcher's core-dump limit as it is (default: RLIMIT_CORE 0/0 before any secret, inherited by the program; fails closed if it cannot be set)",
  },
  {
    flags: '--json',
    description: 'launcher failures as one JSON object on stdout (the program owns stdout once started)',
  },
];

/** A `container run` invocation read without commander. */
export interface ContainerRunArgs {
  readonly manifest: string;
  /** The program's extra arguments (the words after the manifest, and everything after `--`). */
  readonly args: readonly string[];
  readonly flags: RunFlags;
}

/**
 * Reads `container run <manifest> [options] [args…] [-- args…]` when the command line is one that
 * commander would accept and turn into exactly these values: the words `container run`, then
 * options of this command only (`--name value`, `--name=value`, switches; a repeated option keeps its
 * last value; a value is the next word whatever it looks like, as in commander) and words not
 * starting with `-` (the manifest, then the program's arguments); after a literal `--`, every word
 * is an argument of the program, whatever it looks like. `--sig` and the manifest are required.
 * Anything else — help, `-V`/`--version` before the `--` (the root program would print its
 * version), an unknown or malformed option, a word such as `-` or `-5`, a missing value, a missing
 * `--sig` or manifest — returns undefined, and the caller hands the command line to commander, which
 * answers it (and its errors) as it always has.
 */
export function parseContainerRunArgs(argv: readonly string[]): ContainerRunArgs | undefined {
  const read = readPlainCommandLine(argv, 'container', 'run', CONTAINER_RUN_OPTIONS, true);
  if (read === undefined) return undefined;
  const [manifest, ...args] = read.operands;
  if (manifest === undefined || read.flags['sig'] === undefined) return undefined;
  return { manifest, args, flags: read.flags as unknown as RunFlags };
}
