/**
 * The `--encoding auto|binary|hex|base64` option shared by the commands that read a quote, a report
 * or a SIGSTRUCT from a file (`quote inspect`, `quote verify`, `sim quote --report-body`,
 * `enclave sigstruct`). `auto` applies the detection rule of `decodeInput` (docs/verification.md,
 * "Input encodings").
 */
import { INPUT_ENCODINGS, type InputEncoding } from '../core/index.ts';
import { UsageError } from './errors.ts';

/** The flag text, as commander spells it. */
export const ENCODING_FLAG = '--encoding <encoding>';

/** Help text of `--encoding`: `what` names the input (e.g. "the quote file"). */
export function encodingHelp(what: string): string {
  return (
    `how ${what} is written: auto (binary, hex or base64, detected), binary, hex, or base64 ` +
    '(standard or URL-safe alphabet); an explicit value refuses any other form'
  );
}

/** Validates the `--encoding` value; an unknown value is a usage error (exit 2). */
export function parseEncodingFlag(value: string | undefined): InputEncoding {
  if (value === undefined) return 'auto';
  const found = INPUT_ENCODINGS.find((e) => e === value);
  if (found === undefined) {
    throw new UsageError(
      `--encoding: expected one of ${INPUT_ENCODINGS.join(', ')}, got ${JSON.stringify(value)}`,
      { option: '--encoding', value },
    );
  }
  return found;
}
