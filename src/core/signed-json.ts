/**
 * Signed JSON documents of Intel PCS: `{"<member>":{…},"signature":"<hex r‖s>"}`. The signature
 * covers the exact bytes of the member's value as received, so this module locates that raw
 * substring by scanning the top-level object instead of re-serialising parsed JSON.
 */

/** A signed PCS document split into its raw signed text, parsed body and signature. */
export interface SignedJson {
  /** The exact text of the signed member's value (what the signature covers). */
  readonly bodyText: string;
  /** `bodyText` parsed. */
  readonly body: unknown;
  /** The raw r‖s signature (64 bytes expected by the caller). */
  readonly signature: Uint8Array;
}

/** Thrown when the document is not of the expected shape. */
export class SignedJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignedJsonError';
  }
}

// The scanner runs once per document at start-up, in cold (interpreted) code: sticky regular
// expressions (compiled to native code) jump over runs of characters instead of a loop per char.
const WS = /[ \t\n\r]*/y;
/** The rest of a string after its opening quote: characters or escapes, then the closing quote. */
const STRING_REST = /[^"\\]*(?:\\[^][^"\\]*)*"/y;
/** The next character that matters inside an object or array. */
const STRUCTURAL = /["{}[\]]/g;
/** A number, true, false or null: up to whitespace, ',' or '}'. */
const SCALAR = /[^ \t\n\r,}]*/y;

function skipWs(text: string, pos: number): number {
  WS.lastIndex = pos;
  WS.test(text);
  return WS.lastIndex;
}

function skipString(text: string, pos: number): number {
  // text[pos] === '"'
  STRING_REST.lastIndex = pos + 1;
  if (!STRING_REST.test(text)) throw new SignedJsonError('unterminated string');
  return STRING_REST.lastIndex;
}

function skipValue(text: string, pos: number): number {
  const ch = text[pos];
  if (ch === '"') return skipString(text, pos);
  if (ch === '{' || ch === '[') {
    let depth = 0;
    for (;;) {
      STRUCTURAL.lastIndex = pos;
      const m = STRUCTURAL.exec(text);
      if (m === null) throw new SignedJsonError('unterminated object or array');
      const c = m[0];
      pos = m.index;
      if (c === '"') {
        pos = skipString(text, pos);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (--depth === 0) return pos + 1;
      pos++;
    }
  }
  SCALAR.lastIndex = pos;
  SCALAR.test(text);
  return SCALAR.lastIndex;
}

/** Returns each top-level member's raw value text. The whole text must be valid JSON. */
export function topLevelMembers(text: string): Map<string, string> {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new SignedJsonError(`not valid JSON: ${(err as Error).message}`);
  }
  const out = new Map<string, string>();
  let pos = skipWs(text, 0);
  if (text[pos] !== '{') throw new SignedJsonError('top level is not a JSON object');
  pos = skipWs(text, pos + 1);
  if (text[pos] === '}') return out;
  for (;;) {
    const keyEnd = skipString(text, pos);
    const key = JSON.parse(text.slice(pos, keyEnd)) as string;
    pos = skipWs(text, keyEnd);
    pos = skipWs(text, pos + 1); // ':'
    const valueEnd = skipValue(text, pos);
    if (out.has(key)) throw new SignedJsonError(`duplicate member "${key}"`);
    out.set(key, text.slice(pos, valueEnd));
    pos = skipWs(text, valueEnd);
    if (text[pos] === '}') return out;
    pos = skipWs(text, pos + 1); // ','
  }
}

/**
 * Splits a PCS signed document into the raw text of `member`, its parsed value and the
 * signature (hex text of 64 bytes r‖s).
 */
export function parseSignedJson(text: string, member: string): SignedJson {
  const members = topLevelMembers(text);
  const bodyText = members.get(member);
  if (bodyText === undefined) throw new SignedJsonError(`missing member "${member}"`);
  if (!bodyText.startsWith('{')) throw new SignedJsonError(`member "${member}" is not an object`);
  const sigText = members.get('signature');
  if (sigText === undefined) throw new SignedJsonError('missing member "signature"');
  const sigHex = JSON.parse(sigText) as unknown;
  if (typeof sigHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sigHex)) {
    throw new SignedJsonError('"signature" is not 64 bytes of hex');
  }
  return {
    bodyText,
    body: JSON.parse(bodyText) as unknown,
    signature: new Uint8Array(Buffer.from(sigHex, 'hex')),
  };
}
