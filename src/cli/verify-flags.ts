/** Flags shared by the verifying commands (`quote verify`, `ratls verify`). */
import { resolve } from 'node:path';
import { parseCertificate, pemCertificates } from '../core/index.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './errors.ts';
import { readInputFile } from './io.ts';

/** `--now <iso>`: the verification time; absent, the current time. */
export function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError(`--now: not an ISO 8601 date-time: ${text}`, { option: '--now' });
  }
  return d;
}

/** Reads a self-signed root certificate file (PEM or DER, exactly one) for `--trust-simulated-root`. */
export async function readAnchor(path: string, ctx: CliContext): Promise<Uint8Array> {
  const bytes = await readInputFile(resolve(ctx.cwd, path));
  const text = bytes.toString('latin1');
  const ders = text.includes('-----BEGIN CERTIFICATE-----') ? pemCertificates(text) : [new Uint8Array(bytes)];
  const bad = (why: string): UsageError => new UsageError(`--trust-simulated-root: ${path} ${why}`, { path });
  if (ders.length !== 1 || ders[0] === undefined)
    throw bad(`holds ${ders.length} certificates, expected one`);
  let selfIssued: boolean;
  try {
    selfIssued = parseCertificate(ders[0]).selfIssued;
  } catch {
    throw bad('is not a PEM or DER certificate');
  }
  if (!selfIssued) throw bad('is not a self-signed root certificate');
  return ders[0];
}
