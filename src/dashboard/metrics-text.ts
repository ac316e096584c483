/**
 * A small, bounded parser for the Prometheus text exposition format (version 0.0.4), which is what
 * the agents' `/metrics` endpoints serve: `# HELP` / `# TYPE` lines and samples
 * `name{label="value",…} value [timestamp]`. prom-client can write the format but not read it.
 *
 * Bounds (each refusal is a {@link MetricsTextError} naming the line): the text's size, the number of
 * lines and samples, the length of one line, and the labels of one sample. Anything else that does
 * not match the grammar is refused too — a scrape is all or nothing.
 */
import { MetricsTextError } from './errors.ts';

/** One sample: metric name (with `_bucket`/`_sum`/`_count` suffixes as written), labels, value. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition: samples in text order, and the declared type of each family. */
export interface MetricsText {
  readonly samples: readonly MetricSample[];
  readonly types: ReadonlyMap<string, string>;
}

/** Parser bounds; the defaults suit one agent's endpoint. */
export interface MetricsTextLimits {
  readonly maxBytes: number;
  readonly maxLines: number;
  readonly maxSamples: number;
  readonly maxLineLength: number;
  readonly maxLabels: number;
}

export const DEFAULT_METRICS_TEXT_LIMITS: MetricsTextLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxLines: 100_000,
  maxSamples: 50_000,
  maxLineLength: 16 * 1024,
  maxLabels: 32,
};

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: number): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default: {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
        throw new MetricsTextError(`line ${line}: ${JSON.stringify(text.slice(0, 40))} is not a number`, {
          line,
        });
      return Number(text);
    }
  }
}

/** Reads `{a="x",b="y"}` starting at `s[0] === '{'`; returns the labels and the rest of the line. */
function parseLabels(
  s: string,
  line: number,
  maxLabels: number,
): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 1;
  let count = 0;
  const fail = (what: string): never => {
    throw new MetricsTextError(`line ${line}: ${what}`, { line, column: i + 1 });
  };
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] === '}') return { labels, rest: s.slice(i + 1) };
    const m = LABEL_NAME.exec(s.slice(i));
    if (m === null) return fail('expected a label name');
    const name = m[0];
    i += name.length;
    while (s[i] === ' ') i++;
    if (s[i] !== '=') return fail(`expected "=" after label ${name}`);
    i++;
    while (s[i] === ' ') i++;
    if (s[i] !== '"') return fail(`expected a quoted value for label ${name}`);
    i++;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) return fail(`unterminated value of label ${name}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i];
        i++;
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else return fail(`bad escape in the value of label ${name}`);
      } else value += c;
    }
    if (name in labels) return fail(`label ${name} given twice`);
    if (++count > maxLabels) return fail(`more than ${maxLabels} labels`);
    labels[name] = value;
    while (s[i] === ' ') i++;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') return fail('expected "," or "}"');
  }
}

/** Parses an exposition; throws {@link MetricsTextError} on malformed or oversized input. */
export function parseMetricsText(
  text: string,
  limits: MetricsTextLimits = DEFAULT_METRICS_TEXT_LIMITS,
): MetricsText {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes)
    throw new MetricsTextError(`the exposition is larger than ${limits.maxBytes} bytes`, { line: 0 });
  const lines = text.split('\n');
  if (lines.length > limits.maxLines)
    throw new MetricsTextError(`the exposition has more than ${limits.maxLines} lines`, {
      line: limits.maxLines + 1,
    });
  const samples: MetricSample[] = [];
  const types = new Map<string, string>();
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    if (raw.length > limits.maxLineLength)
      throw new MetricsTextError(`line ${line} is longer than ${limits.maxLineLength} characters`, { line });
    const s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (s.trim() === '') continue;
    if (s.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(s);
      if (m !== null) {
        const [, name = '', type = ''] = m;
        if (!TYPES.has(type))
          throw new MetricsTextError(`line ${line}: unknown metric type ${type}`, { line });
        types.set(name, type);
      }
      continue; // HELP and other comments
    }
    const nm = NAME.exec(s);
    if (nm === null) throw new MetricsTextError(`line ${line}: expected a metric name`, { line });
    const name = nm[0];
    let rest = s.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line, limits.maxLabels));
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '' || !/^\s/.test(rest))
      throw new MetricsTextError(`line ${line}: expected "value [timestamp]" after ${name}`, { line });
    const value = parseValue(fields[0] ?? '', line);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1]))
      throw new MetricsTextError(`line ${line}: bad timestamp`, { line });
    if (samples.length >= limits.maxSamples)
      throw new MetricsTextError(`more than ${limits.maxSamples} samples`, { line });
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** Samples of `name` whose labels include every pair of `match`. */
export function samplesOf(
  m: MetricsText,
  name: string,
  match: Readonly<Record<string, string>> = {},
): MetricSample[] {
  return m.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

/** Sum of the values of {@link samplesOf}; undefined when there is no such sample. */
export function sumOf(
  m: MetricsText,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number | undefined {
  const xs = samplesOf(m, name, match);
  return xs.length === 0 ? undefined : xs.reduce((a, s) => a + s.value, 0);
}

/** Cumulative histogram buckets: upper bound `le` and count, summed over the other labels. */
export function histogramBuckets(
  m: MetricsText,
  family: string,
  match: Readonly<Record<string, string>> = {},
): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const s of samplesOf(m, `${family}_bucket`, match)) {
    const le = s.labels['le'];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    if (Number.isNaN(bound)) continue;
    byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile (0 < q < 1) of cumulative buckets, interpolated linearly inside the bucket as
 * PromQL's histogram_quantile does; undefined without observations. A quantile in the +Inf bucket
 * is the highest finite bound.
 */
export function bucketQuantile(
  buckets: readonly { le: number; count: number }[],
  q: number,
): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0 || buckets.length === 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
