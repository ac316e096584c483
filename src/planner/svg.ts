/**
 * Small, dependency-free SVG line charts for the simulation report: step lines (values hold until the
 * next sample), axes with rounded ticks, a legend. Output is deterministic (fixed number formatting)
 * and well-formed XML (every text is escaped).
 */

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Draw dashed (e.g. capacity next to usage). */
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#0550ae', '#bc4c00', '#57606a'];

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

const f = (n: number): string => (Math.round(n * 10) / 10).toFixed(1);

/** 1, 2, 5 × 10^k ticks covering [0, max]. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const stepMul = [1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10;
  const step = stepMul * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  if ((ticks[ticks.length - 1] ?? 0) < max) ticks.push(Math.round(ticks.length * step * 1e6) / 1e6);
  return ticks;
}

function label(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1000) / 1000);
}

/** Ticks for a time axis in seconds: multiples of a round duration, at most 8 intervals. */
export function timeTicks(max: number): number[] {
  const steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];
  const step = steps.find((d) => max / d <= 8) ?? Math.ceil(max / 8 / 86400) * 86400;
  const ticks: number[] = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);
  return ticks;
}

/** Seconds as `m:ss` (or `h:mm:ss`). */
export function clock(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** Renders a step-line chart. */
export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const H = spec.height ?? 300;
  const left = 64;
  const right = 16;
  const top = 36;
  const legendRows = Math.ceil(spec.series.length / 3);
  const bottom = 52 + legendRows * 18;
  const pw = W - left - right;
  const ph = H - top - bottom;
  let xMax = 0;
  let yMax = 0;
  for (const s of spec.series)
    for (const [x, y] of s.points) {
      xMax = Math.max(xMax, x);
      yMax = Math.max(yMax, y);
    }
  const yTicks = niceTicks(yMax);
  const yTop = yTicks[yTicks.length - 1] ?? 1;
  const xTicks = timeTicks(xMax);
  const xTop = Math.max(xMax, 1);
  const X = (x: number): number => left + (x / xTop) * pw;
  const Y = (y: number): number => top + ph - (y / yTop) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(spec.title)}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);
  for (const v of yTicks) {
    out.push(
      `<line x1="${left}" y1="${f(Y(v))}" x2="${W - right}" y2="${f(Y(v))}" stroke="#d0d7de" stroke-width="1"/>`,
    );
    out.push(`<text x="${left - 6}" y="${f(Y(v) + 4)}" text-anchor="end">${escapeXml(label(v))}</text>`);
  }
  for (const v of xTicks) {
    if (v > xTop) continue;
    out.push(
      `<line x1="${f(X(v))}" y1="${top + ph}" x2="${f(X(v))}" y2="${top + ph + 4}" stroke="#57606a"/>`,
    );
    out.push(`<text x="${f(X(v))}" y="${top + ph + 16}" text-anchor="middle">${escapeXml(clock(v))}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top + ph}" x2="${W - right}" y2="${top + ph}" stroke="#57606a"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="#57606a"/>`);
  out.push(
    `<text x="${left + pw / 2}" y="${top + ph + 32}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text x="14" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + ph / 2})">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000000';
    if (s.points.length > 0) {
      const d: string[] = [];
      s.points.forEach(([x, y], j) => {
        if (j === 0) d.push(`M${f(X(x))},${f(Y(y))}`);
        else d.push(`H${f(X(x))}`, `V${f(Y(y))}`);
      });
      const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
      out.push(`<path d="${d.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    const lx = left + (i % 3) * Math.floor(pw / 3);
    const ly = top + ph + 56 + Math.floor(i / 3) * 18;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly - 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
