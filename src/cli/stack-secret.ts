/** Storing a secret at an attestation service through its admin API, as the demo's steps do. */

/**
 * Stores a secret at a stack's attestation service through its admin API
 * (`PUT /ccnodes/v1/secrets/{name}`, the value as base64url); resolves with the HTTP status, the
 * body read. Callers report a status other than 2xx in their own terms.
 */
export async function putStackSecret(
  stack: { readonly attestationUrl: string; readonly adminToken: string },
  name: string,
  value: Uint8Array | string,
  contentType: string,
  releasePolicy: unknown,
): Promise<number> {
  const res = await fetch(new URL(`/ccnodes/v1/secrets/${encodeURIComponent(name)}`, stack.attestationUrl), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
    body: JSON.stringify({ value: Buffer.from(value).toString('base64url'), contentType, releasePolicy }),
  });
  await res.arrayBuffer();
  return res.status;
}
