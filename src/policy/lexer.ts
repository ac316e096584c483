/**
 * Lexer for the attestation policy language (spec maa.md §3.2). Produces a flat token list with
 * 1-based line/column positions. Words are returned as `ident` tokens; keywords are recognised by
 * the parser case-insensitively, because the docs write them in varying case.
 */
import { PolicySyntaxError, type SourcePosition } from './errors.ts';
import { POLICY_LIMITS } from './limits.ts';

/** Token kinds. Punctuation kinds are the punctuation itself. */
export type TokenKind =
  | 'ident'
  | 'string'
  | 'number'
  | '=='
  | '!='
  | '<='
  | '>='
  | '<'
  | '>'
  | '='
  | '=>'
  | '&&'
  | '!'
  | ':'
  | ','
  | ';'
  | '.'
  | '('
  | ')'
  | '['
  | ']'
  | '{'
  | '}'
  | 'eof';

/**
 * One token. `value` is the decoded string for `string`, the source text otherwise. A token is its
 * own source position (`line`, `column`, `offset`), so the lexer allocates one object per token.
 */
export class Token implements SourcePosition {
  constructor(
    readonly kind: TokenKind,
    readonly value: string,
    readonly line: number,
    readonly column: number,
    readonly offset: number,
  ) {}

  /** The token's position (the token itself, typed as a position). */
  get pos(): SourcePosition {
    return this;
  }
}

const TWO_CHAR: ReadonlySet<string> = new Set(['==', '!=', '<=', '>=', '=>', '&&']);
const ONE_CHAR: ReadonlySet<string> = new Set([
  '<',
  '>',
  '=',
  '!',
  ':',
  ',',
  ';',
  '.',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
]);
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
};

function isIdentStart(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_';
}
function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}
function isIdentPart(ch: string): boolean {
  return isIdentStart(ch) || isDigit(ch);
}

/** Human description of a character for error messages. */
function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp >= 0x21 && cp <= 0x7e ? `'${ch}'` : hex;
}

/**
 * Splits policy text into tokens. Throws {@link PolicySyntaxError} with the position of the first
 * offending character; never loops without consuming input.
 */
export function tokenize(text: string): Token[] {
  if (typeof text !== 'string') {
    // Guards JavaScript callers; TypeScript callers cannot get here.
    throw new PolicySyntaxError(
      'ERR_POLICY_UNEXPECTED_TOKEN',
      `policy text must be a string, got ${typeof text}`,
      {
        line: 1,
        column: 1,
        offset: 0,
      },
    );
  }
  if (text.length > POLICY_LIMITS.maxPolicyChars) {
    throw new PolicySyntaxError(
      'ERR_POLICY_TOO_LARGE',
      `policy is ${text.length} characters; the limit is ${POLICY_LIMITS.maxPolicyChars}`,
      { line: 1, column: 1, offset: 0 },
    );
  }
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const push = (kind: TokenKind, value: string, pos: SourcePosition): void => {
    if (tokens.length >= POLICY_LIMITS.maxTokens) {
      throw new PolicySyntaxError('ERR_POLICY_LIMIT', `more than ${POLICY_LIMITS.maxTokens} tokens`, pos);
    }
    tokens.push(new Token(kind, value, pos.line, pos.column, pos.offset));
  };

  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '\n') {
      i += 1;
      line += 1;
      lineStart = i;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v' || ch === '\uFEFF') {
      i += 1;
      continue;
    }
    if (ch === '/' && text.charAt(i + 1) === '/') {
      while (i < text.length && text.charAt(i) !== '\n') i += 1;
      continue;
    }
    const start: SourcePosition = { line, column: i - lineStart + 1, offset: i };
    if (isIdentStart(ch)) {
      let j = i + 1;
      while (j < text.length && isIdentPart(text.charAt(j))) j += 1;
      push('ident', text.slice(i, j), start);
      i = j;
      continue;
    }
    if (isDigit(ch) || (ch === '-' && isDigit(text.charAt(i + 1)))) {
      let j = i + 1;
      while (j < text.length && isDigit(text.charAt(j))) j += 1;
      // A fraction (only meaningful in `version=1.0`): digits '.' digits.
      if (text.charAt(j) === '.' && isDigit(text.charAt(j + 1))) {
        j += 1;
        while (j < text.length && isDigit(text.charAt(j))) j += 1;
      }
      if (isIdentPart(text.charAt(j)) || text.charAt(j) === '.') {
        throw new PolicySyntaxError(
          'ERR_POLICY_INVALID_NUMBER',
          `malformed number starting ${JSON.stringify(text.slice(i, j + 1))}`,
          start,
        );
      }
      push('number', text.slice(i, j), start);
      i = j;
      continue;
    }
    if (ch === '"') {
      i = readString(text, i, start, (value) => {
        push('string', value, start);
      });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR.has(two)) {
      push(two as TokenKind, two, start);
      i += 2;
      continue;
    }
    if (two === '||') {
      throw new PolicySyntaxError(
        'ERR_POLICY_UNEXPECTED_CHARACTER',
        "'||' is not part of the language; express OR as several rules",
        start,
      );
    }
    if (ONE_CHAR.has(ch)) {
      push(ch as TokenKind, ch, start);
      i += 1;
      continue;
    }
    if (ch === '\u201C' || ch === '\u201D' || ch === '\u2018' || ch === '\u2019') {
      throw new PolicySyntaxError(
        'ERR_POLICY_UNEXPECTED_CHARACTER',
        `curly quote ${describeChar(ch)}; string literals use straight double quotes (")`,
        start,
      );
    }
    if (ch === "'") {
      throw new PolicySyntaxError(
        'ERR_POLICY_UNEXPECTED_CHARACTER',
        `single quote; string literals use double quotes (")`,
        start,
      );
    }
    throw new PolicySyntaxError(
      'ERR_POLICY_UNEXPECTED_CHARACTER',
      `unexpected character ${describeChar(ch)}`,
      start,
    );
  }
  tokens.push(new Token('eof', '', line, i - lineStart + 1, i));
  return tokens;
}

/** Reads a "…" literal starting at `open`; returns the index after the closing quote. */
function readString(
  text: string,
  open: number,
  start: SourcePosition,
  emit: (value: string) => void,
): number {
  let out = '';
  let i = open + 1;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '"') {
      emit(out);
      return i + 1;
    }
    if (ch === '\n') break;
    if (ch === '\\') {
      const esc = text.charAt(i + 1);
      const escPos: SourcePosition = {
        line: start.line,
        column: start.column + (i - open),
        offset: i,
      };
      const simple = SIMPLE_ESCAPES[esc];
      if (simple !== undefined) {
        out += simple;
        i += 2;
        continue;
      }
      if (esc === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) {
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
          continue;
        }
      }
      if (esc === '' || esc === '\n') break;
      throw new PolicySyntaxError(
        'ERR_POLICY_INVALID_ESCAPE',
        `invalid escape ${JSON.stringify(`\\${esc}`)} in string literal`,
        escPos,
      );
    }
    out += ch;
    i += 1;
  }
  throw new PolicySyntaxError(
    'ERR_POLICY_UNTERMINATED_STRING',
    'string literal is not closed on its line',
    start,
  );
}
