/** Implementation of `policy.ts`'s commands, loaded only when one of them runs. */
import {
  PolicyError,
  claimsToObject,
  defaultPolicyFor,
  evaluatePolicy,
  parseClaimsJson,
  parsePolicy,
  type Claim,
  type DefaultPolicyType,
  type Policy,
  type PolicyMode,
} from '../policy/index.ts';
import { resolve } from 'node:path';
import type { CliContext } from './context.ts';
import { UsageError } from './errors.ts';
import { readInputFile } from './io.ts';

export interface JsonFlag {
  readonly json?: boolean;
}
export interface EvalFlags extends JsonFlag {
  readonly claims: string;
  readonly legacyAliases: boolean;
  readonly readOnly?: string[];
}
export interface DefaultFlags {
  readonly mode: string;
  readonly type: string;
}

const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Policy text from a file. A file holding a policy JWS (the body of `PUT /policies/{type}`, payload
 * `{"AttestationPolicy": base64url(text)}`) is unwrapped; its signature is not checked here.
 */
async function readPolicyText(path: string, ctx: CliContext): Promise<{ text: string; fromJws: boolean }> {
  const raw = (await readInputFile(resolve(ctx.cwd, path))).toString('utf8');
  const trimmed = raw.trim();
  if (!JWS_SHAPE.test(trimmed)) return { text: raw, fromJws: false };
  const payloadPart = trimmed.split('.')[1] ?? '';
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  } catch {
    return { text: raw, fromJws: false };
  }
  const encoded = (payload as Record<string, unknown> | null)?.AttestationPolicy;
  if (typeof encoded !== 'string') {
    throw new UsageError(`${path}: a JWS without an "AttestationPolicy" payload field is not a policy`);
  }
  return { text: Buffer.from(encoded, 'base64url').toString('utf8'), fromJws: true };
}

/** The offending line with a caret under the column, for human output. */
function excerpt(text: string, line: number, column: number): string {
  const src = text.split('\n')[line - 1];
  if (src === undefined || line < 1) return '';
  const shown = src.replace(/\t/g, ' ').replace(/\r$/, '');
  return `  ${shown}\n  ${' '.repeat(Math.max(0, column - 1))}^\n`;
}

function reportPolicyError(
  ctx: CliContext,
  file: string,
  text: string,
  err: PolicyError,
  json: boolean,
): void {
  ctx.exitCode = 1;
  if (json) {
    ctx.stdout(
      `${JSON.stringify({ ok: false, file, error: { code: err.code, message: err.message, line: err.line, column: err.column, maaErrorCode: err.maaErrorCode } })}\n`,
    );
    return;
  }
  const where = err.line > 0 ? `${file}:${err.line}:${err.column}` : file;
  const message = err.line > 0 ? err.message.replace(/^\d+:\d+: /, '') : err.message;
  ctx.stdout(
    `${where}: error ${err.code}: ${message}\n${err.line > 0 ? excerpt(text, err.line, err.column) : ''}`,
  );
}

function ruleSummary(policy: Policy): Record<string, number> {
  const out: Record<string, number> = {};
  if (policy.configurationRules !== undefined)
    out.configurationrules = policy.configurationRules.rules.length;
  out.authorizationrules = policy.authorizationRules.rules.length;
  out.issuancerules = policy.issuanceRules.rules.length;
  return out;
}

export async function checkCommand(ctx: CliContext, file: string, flags: JsonFlag): Promise<void> {
  const { text, fromJws } = await readPolicyText(file, ctx);
  let policy: Policy;
  try {
    policy = parsePolicy(text);
  } catch (err) {
    if (err instanceof PolicyError) {
      reportPolicyError(ctx, file, text, err, flags.json === true);
      return;
    }
    throw err;
  }
  const rules = ruleSummary(policy);
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify({ ok: true, file, version: policy.version, fromJws, rules })}\n`);
    return;
  }
  const parts = Object.entries(rules).map(([name, n]) => `${name} ${n}`);
  ctx.stdout(
    `${file}: ok — policy version ${policy.version}, ${policy.ruleCount} rule${policy.ruleCount === 1 ? '' : 's'} (${parts.join(', ')})${fromJws ? ' [unwrapped from a JWS; signature not checked]' : ''}\n`,
  );
}

async function readClaims(arg: string, ctx: CliContext): Promise<string> {
  const trimmed = arg.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return arg;
  return (await readInputFile(resolve(ctx.cwd, arg))).toString('utf8');
}

function formatClaim(c: Claim): string {
  return `  ${c.type} = ${JSON.stringify(c.value)}`;
}

export async function evalCommand(ctx: CliContext, file: string, flags: EvalFlags): Promise<void> {
  const json = flags.json === true;
  const { text } = await readPolicyText(file, ctx);
  const claimsText = await readClaims(flags.claims, ctx);
  try {
    const policy = parsePolicy(text);
    const claims = parseClaimsJson(claimsText);
    const outcome = evaluatePolicy(policy, claims, {
      legacyAliases: flags.legacyAliases,
      ...(flags.readOnly === undefined ? {} : { readOnlyTypes: flags.readOnly }),
    });
    if (!outcome.permitted) ctx.exitCode = 1;
    if (json) {
      ctx.stdout(
        `${JSON.stringify({
          ok: true,
          permitted: outcome.permitted,
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
          issued: outcome.issued,
          properties: outcome.properties,
          token: claimsToObject(outcome.issued),
        })}\n`,
      );
      return;
    }
    if (!outcome.permitted) {
      ctx.stdout(`deny: ${outcome.reason ?? 'not permitted'}\n`);
      return;
    }
    const lines = [`permit`];
    lines.push(`issued claims (${outcome.issued.length}):`, ...outcome.issued.map(formatClaim));
    if (outcome.properties.length > 0) {
      lines.push(`property claims (${outcome.properties.length}):`, ...outcome.properties.map(formatClaim));
    }
    ctx.stdout(`${lines.join('\n')}\n`);
  } catch (err) {
    if (err instanceof PolicyError) {
      reportPolicyError(ctx, file, text, err, json);
      return;
    }
    throw err;
  }
}

const MODES: readonly PolicyMode[] = ['production', 'simulation'];
const TYPES: readonly DefaultPolicyType[] = ['SgxEnclave', 'OpenEnclave', 'TdxVm'];

export function defaultCommand(ctx: CliContext, flags: DefaultFlags): void {
  const mode = MODES.find((m) => m === flags.mode);
  const type = TYPES.find((t) => t.toLowerCase() === flags.type.toLowerCase());
  if (mode === undefined)
    throw new UsageError(`--mode must be one of ${MODES.join(', ')}; got ${flags.mode}`);
  if (type === undefined)
    throw new UsageError(`--type must be one of ${TYPES.join(', ')}; got ${flags.type}`);
  ctx.stdout(defaultPolicyFor(type, mode));
}
