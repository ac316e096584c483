/**
 * The command line of `ccnodes container run`, declared once: container.ts registers it with
 * commander (help text, defaults), and {@link parseContainerRunArgs} reads the ordinary invocations
 * without commander, so that `container run` starts without loading it (issue 14: launch overhead;
 * src/cli/container-run-fast.ts is built into one self-contained file).
 *
 * This module imports nothing: src/cli/index.ts loads it for every invocation.
 */
import type { RunFlags } from './container-run.ts';

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
  "files). Exit status: the program's; 1 when a check fails (the program never starts); 2 on bad input.";

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

/** `--data-dir` → `dataDir`: the key commander gives an option's value. */
function attributeName(long: string): string {
  return long.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Each long flag: its key in {@link RunFlags} and whether it takes a value. */
const OPTION_TABLE: ReadonlyMap<string, { readonly key: string; readonly takesValue: boolean }> = new Map(
  CONTAINER_RUN_OPTIONS.map((o) => {
    const [long = '', value] = o.flags.split(' ');
    return [long, { key: attributeName(long), takesValue: value !== undefined }];
  }),
);

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
  if (argv[0] !== 'container' || argv[1] !== 'run') return undefined;
  const flags: Record<string, string | boolean> = {};
  for (const o of CONTAINER_RUN_OPTIONS) {
    if (o.defaultValue !== undefined) flags[attributeName(o.flags.split(' ')[0] ?? '')] = o.defaultValue;
  }
  const operands: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    // The root program reads its own --version anywhere before a `--`, even as another option's value.
    if (arg === '-V' || arg === '--version') return undefined;
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 2 ? arg.slice(0, eq) : arg;
    const option = OPTION_TABLE.get(name);
    if (option === undefined) return undefined;
    if (!option.takesValue) {
      if (eq > 2) return undefined; // `--json=…`: commander refuses it
      flags[option.key] = true;
    } else if (eq > 2) {
      flags[option.key] = arg.slice(eq + 1);
    } else {
      const value = argv[i + 1];
      if (value === undefined) return undefined; // missing value: commander's error
      if (value === '-V' || value === '--version') return undefined; // see above
      flags[option.key] = value;
      i++;
    }
  }
  const [manifest, ...args] = operands;
  if (manifest === undefined || flags.sig === undefined) return undefined;
  return { manifest, args, flags: flags as unknown as RunFlags };
}
