import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICY_LIMITS, PolicySyntaxError, tokenize } from '../../src/policy/index.ts';

function kinds(text: string): string[] {
  return tokenize(text).map((t) => t.kind);
}

function lexError(text: string): PolicySyntaxError {
  try {
    tokenize(text);
  } catch (err) {
    assert.ok(err instanceof PolicySyntaxError, `expected PolicySyntaxError, got ${String(err)}`);
    return err;
  }
  assert.fail(`tokenize accepted ${JSON.stringify(text)}`);
}

describe('policy lexer', () => {
  test('splits punctuation, longest operator first', () => {
    assert.deepEqual(kinds('c:[type=="x", value>=3] && ![value!=1] => issue(claim=c);'), [
      'ident',
      ':',
      '[',
      'ident',
      '==',
      'string',
      ',',
      'ident',
      '>=',
      'number',
      ']',
      '&&',
      '!',
      '[',
      'ident',
      '!=',
      'number',
      ']',
      '=>',
      'ident',
      '(',
      'ident',
      '=',
      'ident',
      ')',
      ';',
      'eof',
    ]);
    assert.deepEqual(kinds('< <= > >= = == =>'), ['<', '<=', '>', '>=', '=', '==', '=>', 'eof']);
  });

  test('positions are 1-based line:column, across newlines and comments', () => {
    const toks = tokenize('version=1.0;\n// a comment with "quotes" and => arrows\n  authorizationrules');
    const last = toks.at(-2);
    assert.equal(last?.value, 'authorizationrules');
    assert.deepEqual([last.pos.line, last.pos.column], [3, 3]);
    assert.equal(toks[2]!.kind, 'number');
    assert.equal(toks[2]!.value, '1.0');
    assert.deepEqual([toks[2]!.pos.line, toks[2]!.pos.column], [1, 9]);
  });

  test('decodes string escapes, keeps $ and - in claim names', () => {
    const [tok] = tokenize(String.raw`"{\"foo\": \"bar\"}\\x\n\u0041$is-debuggable"`);
    assert.equal(tok?.kind, 'string');
    assert.equal(tok.value, '{"foo": "bar"}\\x\nA$is-debuggable');
  });

  test('negative integers and versions are number tokens', () => {
    const toks = tokenize('-12 1.2 0');
    assert.deepEqual(
      toks.map((t) => [t.kind, t.value]),
      [
        ['number', '-12'],
        ['number', '1.2'],
        ['number', '0'],
        ['eof', ''],
      ],
    );
  });

  test('CRLF line endings and a BOM are whitespace', () => {
    const toks = tokenize('\uFEFFversion=1.0;\r\nissuancerules');
    assert.equal(toks.at(-2)?.pos.line, 2);
    assert.equal(toks.at(-2)?.pos.column, 1);
  });

  const bad: [string, string, number, number][] = [
    ['curly quote', 'version=1.0;\n[type=\u201Cx\u201D]', 2, 7],
    ['single quote', "[type=='x']", 1, 8],
    ['double bar', '[a] || [b]', 1, 5],
    ['single bar', 'a | b', 1, 3],
    ['hash', '# comment', 1, 1],
    ['block comment', '/* x */', 1, 1],
    ['unterminated string', 'version=1.0;\n  [type=="abc', 2, 10],
    ['string across newline', '"abc\ndef"', 1, 1],
    ['bad escape', '"a\\qb"', 1, 3],
    ['short unicode escape', '"\\u12"', 1, 2],
    ['fraction glued to word', '1.0x', 1, 1],
    ['number glued to word', '12abc', 1, 1],
    ['double dot number', '1.2.3', 1, 1],
    ['lone minus', 'a - b', 1, 3],
    ['control character', 'a\u0000b', 1, 2],
    ['non-ASCII letter', 'typ\u00E9', 1, 4],
  ];
  for (const [name, text, line, column] of bad) {
    test(`rejects ${name} at ${line}:${column}`, () => {
      const err = lexError(text);
      assert.equal(err.line, line, err.message);
      assert.equal(err.column, column, err.message);
      assert.match(err.code, /^ERR_POLICY_/);
      assert.equal(err.maaErrorCode, 'PolicyParsingError');
    });
  }

  test('codes name the condition', () => {
    assert.equal(lexError('"abc').code, 'ERR_POLICY_UNTERMINATED_STRING');
    assert.equal(lexError('"\\q"').code, 'ERR_POLICY_INVALID_ESCAPE');
    assert.equal(lexError('1.2.3').code, 'ERR_POLICY_INVALID_NUMBER');
    assert.equal(lexError('\u201C').code, 'ERR_POLICY_UNEXPECTED_CHARACTER');
  });

  test('size and token limits', () => {
    assert.equal(lexError(' '.repeat(POLICY_LIMITS.maxPolicyChars + 1)).code, 'ERR_POLICY_TOO_LARGE');
    const many = ';'.repeat(POLICY_LIMITS.maxTokens + 1);
    assert.equal(lexError(many).code, 'ERR_POLICY_LIMIT');
    assert.equal(tokenize(';'.repeat(POLICY_LIMITS.maxTokens - 1)).length, POLICY_LIMITS.maxTokens);
  });
});
