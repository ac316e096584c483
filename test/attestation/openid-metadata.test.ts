/**
 * OpenID discovery advertises only what the service serves: every URL-valued member of
 * `/.well-known/openid-configuration` answers a GET on the running service with something other
 * than 404 (there is no `revocation_endpoint`: attestation tokens are not revocable).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type Started } from './support.ts';

/** Every string value in a JSON value that looks like an absolute http(s) URL. */
function urlsIn(value: unknown, path = '$'): { path: string; url: string }[] {
  if (typeof value === 'string') return /^https?:\/\//.test(value) ? [{ path, url: value }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => urlsIn(v, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => urlsIn(v, `${path}.${k}`));
  return [];
}

describe('OpenID metadata', () => {
  let s: Started;
  before(async () => {
    s = await startService();
  });
  after(() => s.close());

  test('every URL in the metadata is served (GET is not 404)', async () => {
    const res = await fetch(`${s.url}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const meta = (await res.json()) as Record<string, unknown>;
    const urls = urlsIn(meta);
    assert.ok(urls.some((u) => u.path === '$.jwks_uri'));
    for (const { path, url } of urls) {
      // The issuer itself is an identifier, not an endpoint; everything else must be served.
      if (path === '$.issuer') continue;
      assert.ok(url.startsWith(s.url), `${path} points at this service: ${url}`);
      const got = await fetch(url);
      await got.arrayBuffer();
      assert.notEqual(got.status, 404, `${path} = ${url} is advertised but not served`);
      assert.ok(got.status < 500, `${path} = ${url} answered ${got.status}`);
    }
  });

  test('no revocation endpoint is advertised', async () => {
    const meta = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(meta['revocation_endpoint'], undefined);
    assert.equal((await fetch(`${s.url}/revoke`)).status, 404);
  });
});
