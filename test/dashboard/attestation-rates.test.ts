/**
 * The attest rate and refusal rate chart of the Attestations page: per minute over the last 30
 * minutes, allowed and refused (deny or error) attestations and releases, each audit line weighted by
 * its repeat count (the service writes repeated failures as one line with a count); lines older than
 * the window count in the totals only; other audit actions never count; the type filter applies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDashboard,
  parseMetricsText,
  type AttestationSource,
  type AuditLine,
} from '../../src/dashboard/index.ts';

const NOW = new Date('2027-03-01T12:00:30Z');

let id = 0;
const line = (at: string, action: string, decision: AuditLine['decision'], count = 1): AuditLine => ({
  id: ++id,
  at,
  action,
  actor: '10.0.0.7',
  subject: 'SgxEnclave',
  decision,
  reason: decision === 'allow' ? 'token issued' : 'ERR_POLICY_DENIED: policy denied',
  count,
});

const AUDIT: AuditLine[] = [
  line('2027-03-01T12:00:05Z', 'secret-release', 'allow'),
  line('2027-03-01T12:00:02Z', 'attest', 'error', 2),
  line('2027-03-01T11:59:50Z', 'policy-set', 'allow'), // not an attestation
  line('2027-03-01T11:59:40Z', 'attest', 'deny', 5), // five identical refusals, aggregated
  line('2027-03-01T11:59:30Z', 'attest', 'allow'),
  line('2027-03-01T11:59:20Z', 'attest', 'allow'),
  line('2027-03-01T11:59:10Z', 'attest', 'allow'),
  line('2027-03-01T11:31:00Z', 'attest', 'deny'), // the oldest minute of the window
  line('2027-03-01T11:20:00Z', 'attest', 'deny', 7), // before the window
];

const source: AttestationSource = {
  url: 'http://attestation.invalid',
  health: () => Promise.resolve({ status: 'ok' }),
  audit: () => Promise.resolve(AUDIT),
  secrets: () => Promise.resolve([]),
  policies: () => Promise.resolve([]),
  metrics: () => Promise.resolve(parseMetricsText('')),
};

interface Rates {
  total: number;
  allowed: number;
  refused: number;
  perMinute: { t: string; allowed: number; refused: number }[];
}

test('per-minute allowed and refused counts over the last 30 minutes, weighted by repeat counts', async () => {
  const d = createDashboard({ attestation: source, sampleIntervalMs: 0, now: () => NOW });
  try {
    const api = JSON.parse((await d.app.inject({ method: 'GET', url: '/api/attestations' })).body) as Rates;
    assert.deepEqual([api.total, api.allowed, api.refused], [19, 4, 15]);
    assert.equal(api.perMinute.length, 30);
    assert.equal(api.perMinute[0]?.t, '2027-03-01T11:31:00.000Z');
    assert.equal(api.perMinute.at(-1)?.t, '2027-03-01T12:00:00.000Z');
    const at = (t: string) => api.perMinute.find((b) => b.t === t);
    assert.deepEqual(at('2027-03-01T12:00:00.000Z'), {
      t: '2027-03-01T12:00:00.000Z',
      allowed: 1,
      refused: 2,
    });
    assert.deepEqual(at('2027-03-01T11:59:00.000Z'), {
      t: '2027-03-01T11:59:00.000Z',
      allowed: 3,
      refused: 5,
    });
    assert.deepEqual(at('2027-03-01T11:31:00.000Z'), {
      t: '2027-03-01T11:31:00.000Z',
      allowed: 0,
      refused: 1,
    });
    const sum = (k: 'allowed' | 'refused'): number => api.perMinute.reduce((a, b) => a + b[k], 0);
    assert.deepEqual(
      [sum('allowed'), sum('refused')],
      [4, 8],
      'the 7 refusals before the window are in the totals only',
    );

    // The chart draws the same numbers: one bar segment per non-zero count, titled with it.
    const html = (await d.app.inject({ method: 'GET', url: '/attestations' })).body;
    const segments = [
      ...html.matchAll(/<rect [^>]*><title>(\d\d:\d\d (?:allowed|refused): \d+)<\/title>/g),
    ].map((m) => m[1]);
    assert.deepEqual(segments, [
      '11:31 refused: 1',
      '11:59 allowed: 3',
      '11:59 refused: 5',
      '12:00 allowed: 1',
      '12:00 refused: 2',
    ]);

    // The type filter applies to the chart too.
    const attest = JSON.parse(
      (await d.app.inject({ method: 'GET', url: '/api/attestations?type=attest' })).body,
    ) as Rates;
    assert.deepEqual(attest.perMinute.at(-1), { t: '2027-03-01T12:00:00.000Z', allowed: 0, refused: 2 });
  } finally {
    await d.close();
  }
});

test('the timeline is live: the page reloads itself every 15 s and shows lines written since', async () => {
  const audit = [...AUDIT];
  const live: AttestationSource = { ...source, audit: () => Promise.resolve(audit) };
  const d = createDashboard({ attestation: live, sampleIntervalMs: 0, cacheMs: 0, now: () => NOW });
  try {
    const first = (await d.app.inject({ method: 'GET', url: '/attestations?type=attest' })).body;
    assert.match(first, /<meta http-equiv="refresh" content="15">/);
    assert.doesNotMatch(first, /ERR_QUOTE_LATE/);
    audit.unshift({
      ...line('2027-03-01T12:00:20Z', 'attest', 'deny'),
      reason: 'ERR_QUOTE_LATE: a new refusal',
    });
    const next = (await d.app.inject({ method: 'GET', url: '/attestations?type=attest' })).body;
    assert.match(next, /<code class="code">ERR_QUOTE_LATE<\/code> a new refusal/);
    // Only the Attestations page reloads itself.
    assert.doesNotMatch(
      (await d.app.inject({ method: 'GET', url: '/policies' })).body,
      /http-equiv="refresh"/,
    );
  } finally {
    await d.close();
  }
});
