/** Fresh TLS for a render: one CA, serving certificates for the webhook and attestation Services. */
import { generateWebhookTls, serviceDnsNames } from '../tls.ts';
import { NAMES, type RenderTls } from './render.ts';
import type { Values } from './values.ts';

/** Generates a CA and both serving certificates (the attestation one from the same CA). */
export async function generateRenderTls(values: Values): Promise<RenderTls> {
  const days = values.webhook.certificateDays;
  const webhook = await generateWebhookTls(serviceDnsNames(NAMES.webhook, values.namespace), { days });
  const attestationNames = serviceDnsNames(NAMES.attestation, values.namespace);
  const host = /^https:\/\/([^/:]+)/.exec(values.attestation.publicUrl)?.[1];
  if (host !== undefined && !attestationNames.includes(host)) attestationNames.push(host);
  const att = await generateWebhookTls(attestationNames, { days, ca: webhook.ca });
  return {
    caPem: webhook.caPem,
    webhook: { certPem: webhook.certPem, keyPem: webhook.keyPem },
    attestation: { certPem: att.certPem, keyPem: att.keyPem },
  };
}
