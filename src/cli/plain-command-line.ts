/**
 * Reading the ordinary command lines of one command without commander, for the commands that start
 * without it (`quote verify`, `container run`; issues 14 and 15). The reader accepts only what
 * commander would accept and turn into exactly the same values; for anything else it answers
 * undefined and the caller hands the command line to commander, which answers it (and its errors)
 * as it always has.
 *
 * This module imports nothing: src/cli/index.ts loads it for every invocation.
 */

/** One option as commander declares it. */
export interface PlainOption {
  /** The flags as commander spells them: `--name` (a switch) or `--name <value>`. */
  readonly flags: string;
  /** The value when the option is absent (commander's default value). */
  readonly defaultValue?: string;
}

/** What {@link readPlainCommandLine} read: option values by commander's key, and the other words. */
export interface PlainCommandLine {
  readonly flags: Readonly<Record<string, string | boolean>>;
  readonly operands: readonly string[];
}

/** `--pccs-url` → `pccsUrl`: the key commander gives an option's value. */
export function attributeName(long: string): string {
  return long.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The words that make the root program print its version, wherever they stand before a `--`. */
const VERSION_WORDS: ReadonlySet<string> = new Set(['-V', '--version']);

/**
 * Reads `<area> <verb> …`: options of this command only (`--name value`, `--name=value`, switches;
 * a repeated option keeps its last value; a value is the next word whatever it looks like, as in
 * commander) and words not starting with `-` (the operands, in order). With `passthrough`, every
 * word after a literal `--` is an operand whatever it looks like; without it, `--` is left to
 * commander. Undefined — commander's turn — for another command, `-V`/`--version` anywhere before a
 * `--` (also as an option's value: the root program reads it there and prints its version), an
 * unknown or malformed option (`--switch=…`, `-`, `-5`), or a missing value.
 */
export function readPlainCommandLine(
  argv: readonly string[],
  area: string,
  verb: string,
  options: readonly PlainOption[],
  passthrough: boolean,
): PlainCommandLine | undefined {
  if (argv[0] !== area || argv[1] !== verb) return undefined;
  const table = new Map<string, { readonly key: string; readonly takesValue: boolean }>();
  const flags: Record<string, string | boolean> = {};
  for (const o of options) {
    const [long = '', value] = o.flags.split(' ');
    const key = attributeName(long);
    table.set(long, { key, takesValue: value !== undefined });
    if (o.defaultValue !== undefined) flags[key] = o.defaultValue;
  }
  const operands: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      if (!passthrough) return undefined;
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (VERSION_WORDS.has(arg)) return undefined;
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const option = table.get(eq > 2 ? arg.slice(0, eq) : arg);
    if (option === undefined) return undefined;
    if (!option.takesValue) {
      if (eq > 2) return undefined; // `--json=…`: commander refuses it
      flags[option.key] = true;
    } else if (eq > 2) {
      flags[option.key] = arg.slice(eq + 1);
    } else {
      const value = argv[++i];
      if (value === undefined || VERSION_WORDS.has(value)) return undefined;
      flags[option.key] = value;
    }
  }
  return { flags, operands };
}
