/** Implementation of `quote-inspect.ts`'s commands, loaded only when one of them runs. */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import {
  FormatError,
  decodeInput,
  decodeQuote,
  isPlausibleQuote,
  sgxAttributeFlagNames,
  tdAttributeFlagNames,
  toHex,
  type CertificationData,
  type DecodedInput,
  type Quote,
  type ReportBody,
  type TdReport,
} from '../core/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { parseEncodingFlag } from './input-encoding.ts';
import { readInputFile } from './io.ts';

export interface InspectFlags {
  readonly encoding?: string;
  readonly json?: boolean;
}

type Row = readonly [label: string, value: string];
interface Section {
  readonly title: string;
  readonly rows: Row[];
}

const CERT_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'PPID in clear text',
  2: 'PPID encrypted with RSA-2048-OAEP',
  3: 'PPID encrypted with RSA-3072-OAEP',
  4: 'PCK leaf certificate',
  5: 'PCK certificate chain',
  6: 'QE report certification data',
  7: 'platform manifest',
};

const u64Hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const u32Hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
const withNames = (hex: string, names: readonly string[]): string =>
  names.length === 0 ? hex : `${hex} (${names.join(', ')})`;

function teeName(teeType: number): string {
  return teeType === 0 ? 'SGX' : teeType === 0x81 ? 'TDX' : 'unknown';
}

function reportRows(r: ReportBody): Row[] {
  return [
    ['cpuSvn', toHex(r.cpuSvn)],
    ['miscSelect', u32Hex(r.miscSelect)],
    ['isvExtProdId', toHex(r.isvExtProdId)],
    ['attributes.flags', withNames(u64Hex(r.attributes.flags), sgxAttributeFlagNames(r.attributes.flags))],
    ['attributes.xfrm', u64Hex(r.attributes.xfrm)],
    ['mrEnclave', toHex(r.mrEnclave)],
    ['mrSigner', toHex(r.mrSigner)],
    ['configId', toHex(r.configId)],
    ['isvProdId', String(r.isvProdId)],
    ['isvSvn', String(r.isvSvn)],
    ['configSvn', String(r.configSvn)],
    ['isvFamilyId', toHex(r.isvFamilyId)],
    ['reportData', toHex(r.reportData)],
    ['reserved', reservedSummary(r)],
  ];
}

function reservedSummary(r: ReportBody): string {
  const nonZero = Object.entries({
    reserved1: r.reserved1,
    reserved2: r.reserved2,
    reserved3: r.reserved3,
    reserved4: r.reserved4,
  }).filter(([, b]) => b.some((x) => x !== 0));
  return nonZero.length === 0 ? 'all zero' : nonZero.map(([n, b]) => `${n}=${toHex(b)}`).join(' ');
}

function tdRows(r: TdReport): Row[] {
  const rows: Row[] = [
    ['teeTcbSvn', toHex(r.teeTcbSvn)],
    ['mrSeam', toHex(r.mrSeam)],
    ['mrSignerSeam', toHex(r.mrSignerSeam)],
    ['seamAttributes', u64Hex(r.seamAttributes)],
    ['tdAttributes', withNames(u64Hex(r.tdAttributes), tdAttributeFlagNames(r.tdAttributes))],
    ['xfam', u64Hex(r.xfam)],
    ['mrTd', toHex(r.mrTd)],
    ['mrConfigId', toHex(r.mrConfigId)],
    ['mrOwner', toHex(r.mrOwner)],
    ['mrOwnerConfig', toHex(r.mrOwnerConfig)],
    ...r.rtmr.map((m, i): Row => [`rtmr${i}`, toHex(m)]),
    ['reportData', toHex(r.reportData)],
  ];
  if (r.teeTcbSvn2 !== undefined) rows.push(['teeTcbSvn2', toHex(r.teeTcbSvn2)]);
  if (r.mrServiceTd !== undefined) rows.push(['mrServiceTd', toHex(r.mrServiceTd)]);
  return rows;
}

interface CertSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly validTo: string;
}

/** Best-effort summary of a PEM certificate; `undefined` when it does not parse. */
function summarizeCert(pem: string): CertSummary | { readonly error: string } {
  try {
    const c = new X509Certificate(pem);
    const oneLine = (dn: string): string => dn.split('\n').join(', ');
    return {
      subject: oneLine(c.subject),
      issuer: oneLine(c.issuer),
      serialNumber: c.serialNumber.toLowerCase(),
      validFrom: new Date(c.validFrom).toISOString(),
      validTo: new Date(c.validTo).toISOString(),
    };
  } catch (err) {
    return { error: `not a parseable certificate: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function certificationRows(c: CertificationData): Row[] {
  const rows: Row[] = [
    ['type', `${c.type} (${CERT_TYPE_NAMES[c.type] ?? 'unknown'})`],
    ['size', `${c.data.length} bytes`],
  ];
  if (c.ppid !== undefined) rows.push(['ppid', toHex(c.ppid)]);
  if (c.cpuSvn !== undefined) rows.push(['cpuSvn', toHex(c.cpuSvn)]);
  if (c.pceSvn !== undefined) rows.push(['pceSvn', String(c.pceSvn)]);
  if (c.pceId !== undefined) rows.push(['pceId', `0x${c.pceId.toString(16).padStart(4, '0')}`]);
  if (c.pckChainPem !== undefined) {
    c.pckChainPem.forEach((pem, i) => {
      const s = summarizeCert(pem);
      if ('error' in s) {
        rows.push([`certificate[${i}]`, s.error]);
      } else {
        rows.push([`certificate[${i}].subject`, s.subject]);
        rows.push([`certificate[${i}].issuer`, s.issuer]);
        rows.push([`certificate[${i}].serial`, s.serialNumber]);
        rows.push([`certificate[${i}].validity`, `${s.validFrom} .. ${s.validTo}`]);
      }
    });
  } else if (c.ppid === undefined) {
    rows.push(['data', toHex(c.data)]);
  }
  return rows;
}

function sections(q: Quote): Section[] {
  const h = q.header;
  const out: Section[] = [
    {
      title: 'Quote',
      rows: [
        ['size', `${q.raw.length} bytes`],
        ['signedData', `${q.signedData.length} bytes (header..end of body)`],
        ['signatureDataLength', `${q.signatureDataLength} bytes`],
        ['trailingBytes', String(q.trailingBytes)],
      ],
    },
    {
      title: 'Header',
      rows: [
        ['version', String(h.version)],
        [
          'attestationKeyType',
          `${h.attestationKeyType}${h.attestationKeyType === 2 ? ' (ECDSA-256 P-256)' : ''}`,
        ],
        ['teeType', `${u32Hex(h.teeType)} (${teeName(h.teeType)})`],
        [h.version === 3 ? 'qeSvn' : 'qeSvn (reserved in v4+)', String(h.qeSvn)],
        [h.version === 3 ? 'pceSvn' : 'pceSvn (reserved in v4+)', String(h.pceSvn)],
        ['qeVendorId', `${toHex(h.qeVendorId)} (Intel)`],
        ['userData', toHex(h.userData)],
      ],
    },
  ];
  if (q.bodyDescriptor !== undefined) {
    out.push({
      title: 'Body descriptor (v5)',
      rows: [
        ['type', String(q.bodyDescriptor.type)],
        ['size', `${q.bodyDescriptor.size} bytes`],
      ],
    });
  }
  out.push(
    q.body.kind === 'sgx'
      ? { title: 'Body: SGX enclave report', rows: reportRows(q.body.report) }
      : { title: `Body: TD report ${q.body.report.version}`, rows: tdRows(q.body.report) },
  );
  const sigRows: Row[] = [
    ['signature', toHex(q.signature)],
    ['attestationKey', toHex(q.attestationKey)],
  ];
  if (q.outerCertification !== undefined) {
    sigRows.push([
      'certification (outer)',
      `type ${q.outerCertification.type} (${CERT_TYPE_NAMES[q.outerCertification.type] ?? 'unknown'}), ${q.outerCertification.size} bytes`,
    ]);
  }
  out.push(
    { title: 'Signature data', rows: sigRows },
    { title: 'QE report', rows: reportRows(q.qeReport) },
    {
      title: 'QE report signature and authentication data',
      rows: [
        ['qeReportSignature', toHex(q.qeReportSignature)],
        ['qeAuthData', `${toHex(q.qeAuthData)} (${q.qeAuthData.length} bytes)`],
      ],
    },
    { title: 'Certification data', rows: certificationRows(q.certification) },
  );
  return out;
}

/** Renders sections as aligned two-column tables. */
export function renderSections(list: readonly Section[]): string {
  const width = Math.max(...list.flatMap((s) => s.rows.map(([l]) => l.length)));
  const lines: string[] = [];
  for (const s of list) {
    lines.push(s.title);
    for (const [label, value] of s.rows) lines.push(`  ${label.padEnd(width)}  ${value}`);
    lines.push('');
  }
  return lines.join('\n');
}

function reportJson(r: ReportBody): Record<string, unknown> {
  return {
    cpuSvn: toHex(r.cpuSvn),
    miscSelect: u32Hex(r.miscSelect),
    reserved1: toHex(r.reserved1),
    isvExtProdId: toHex(r.isvExtProdId),
    attributes: {
      flags: u64Hex(r.attributes.flags),
      flagNames: sgxAttributeFlagNames(r.attributes.flags),
      xfrm: u64Hex(r.attributes.xfrm),
    },
    mrEnclave: toHex(r.mrEnclave),
    reserved2: toHex(r.reserved2),
    mrSigner: toHex(r.mrSigner),
    reserved3: toHex(r.reserved3),
    configId: toHex(r.configId),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    configSvn: r.configSvn,
    reserved4: toHex(r.reserved4),
    isvFamilyId: toHex(r.isvFamilyId),
    reportData: toHex(r.reportData),
  };
}

function tdJson(r: TdReport): Record<string, unknown> {
  return {
    version: r.version,
    teeTcbSvn: toHex(r.teeTcbSvn),
    mrSeam: toHex(r.mrSeam),
    mrSignerSeam: toHex(r.mrSignerSeam),
    seamAttributes: u64Hex(r.seamAttributes),
    tdAttributes: u64Hex(r.tdAttributes),
    tdAttributeNames: tdAttributeFlagNames(r.tdAttributes),
    xfam: u64Hex(r.xfam),
    mrTd: toHex(r.mrTd),
    mrConfigId: toHex(r.mrConfigId),
    mrOwner: toHex(r.mrOwner),
    mrOwnerConfig: toHex(r.mrOwnerConfig),
    rtmr: r.rtmr.map(toHex),
    reportData: toHex(r.reportData),
    ...(r.teeTcbSvn2 === undefined ? {} : { teeTcbSvn2: toHex(r.teeTcbSvn2) }),
    ...(r.mrServiceTd === undefined ? {} : { mrServiceTd: toHex(r.mrServiceTd) }),
  };
}

function certificationJson(c: CertificationData): Record<string, unknown> {
  return {
    type: c.type,
    typeName: CERT_TYPE_NAMES[c.type] ?? 'unknown',
    size: c.data.length,
    ...(c.ppid === undefined ? {} : { ppid: toHex(c.ppid) }),
    ...(c.cpuSvn === undefined ? {} : { cpuSvn: toHex(c.cpuSvn) }),
    ...(c.pceSvn === undefined ? {} : { pceSvn: c.pceSvn }),
    ...(c.pceId === undefined ? {} : { pceId: c.pceId }),
    ...(c.pckChainPem === undefined
      ? { data: toHex(c.data) }
      : { pckChainPem: c.pckChainPem, pckChain: c.pckChainPem.map(summarizeCert) }),
  };
}

/** The `--json` form of a decoded quote. */
export function quoteToJson(q: Quote): Record<string, unknown> {
  const h = q.header;
  return {
    size: q.raw.length,
    signedDataSize: q.signedData.length,
    header: {
      version: h.version,
      attestationKeyType: h.attestationKeyType,
      teeType: u32Hex(h.teeType),
      tee: teeName(h.teeType),
      qeSvn: h.qeSvn,
      pceSvn: h.pceSvn,
      qeVendorId: toHex(h.qeVendorId),
      userData: toHex(h.userData),
    },
    ...(q.bodyDescriptor === undefined ? {} : { bodyDescriptor: q.bodyDescriptor }),
    body: {
      kind: q.body.kind,
      report: q.body.kind === 'sgx' ? reportJson(q.body.report) : tdJson(q.body.report),
    },
    signatureDataLength: q.signatureDataLength,
    signature: toHex(q.signature),
    attestationKey: toHex(q.attestationKey),
    ...(q.outerCertification === undefined ? {} : { outerCertification: q.outerCertification }),
    qeReport: reportJson(q.qeReport),
    qeReportSignature: toHex(q.qeReportSignature),
    qeAuthData: toHex(q.qeAuthData),
    certification: certificationJson(q.certification),
    trailingBytes: q.trailingBytes,
  };
}

export async function inspect(file: string, flags: InspectFlags, ctx: CliContext): Promise<void> {
  const encoding = parseEncodingFlag(flags.encoding);
  const bytes = await readInputFile(resolve(ctx.cwd, file));
  let quote: Quote;
  let input: DecodedInput;
  try {
    input = decodeInput(bytes, { encoding, expect: isPlausibleQuote });
    quote = decodeQuote(input.bytes);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    if (flags.json === true) ctx.stdout(`${JSON.stringify({ ok: false, error: err.toJSON() }, null, 2)}\n`);
    ctx.stderr(`ccnodes: ${file}: not a decodable quote: ${err.message} (${err.code})\n`);
    ctx.exitCode = EXIT.USAGE;
    return;
  }
  const read = `${input.encoding}${encoding === 'auto' ? ' (detected)' : ''}`;
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify({ inputEncoding: input.encoding, ...quoteToJson(quote) }, null, 2)}\n`);
  } else {
    ctx.stdout(renderSections([{ title: 'Input', rows: [['encoding', read]] }, ...sections(quote)]));
  }
}
