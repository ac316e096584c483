/**
 * Server-rendered charts as inline SVG: no script, no external resource, colours as presentation
 * attributes (which a content security policy does not govern) and every text escaped.
 */
import { escapeHtml } from './html-escape.ts';

export interface Series {
  readonly name: string;
  readonly points: readonly { readonly t: number; readonly v: number }[];
}

const PALETTE = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`;
  if (Math.abs(v) >= 10) return String(Math.round(v));
  if (Math.abs(v) >= 1) return String(Math.round(v * 10) / 10);
  return String(Number(v.toPrecision(2)));
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

/** A line chart of several series over time; `unit` labels the y axis. */
export function lineChart(
  title: string,
  series: readonly Series[],
  unit: string,
  options: { width?: number; height?: number; maxSeries?: number } = {},
): string {
  const w = options.width ?? 640;
  const h = options.height ?? 220;
  const left = 48;
  const right = 150;
  const top = 24;
  const bottom = 28;
  const shown = series.slice(0, options.maxSeries ?? 8);
  const all = shown.flatMap((s) => s.points);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${escapeHtml(title)}</title><text x="${left}" y="16" class="chart-title">${escapeHtml(title)}</text>`;
  if (all.length === 0)
    return `${head}<text x="${left}" y="${h / 2}" class="chart-empty">no samples yet</text></svg>`;
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const vmax = Math.max(...all.map((p) => p.v), 1e-9);
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (w - left - right);
  const y = (v: number): number => top + (1 - v / vmax) * (h - top - bottom);
  const parts = [head];
  parts.push(
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end" class="axis">${escapeHtml(fmt(vmax))}</text>`,
    `<text x="${left - 4}" y="${h - bottom}" text-anchor="end" class="axis">0</text>`,
    `<text x="4" y="${top + (h - top - bottom) / 2}" class="axis">${escapeHtml(unit)}</text>`,
    `<text x="${left}" y="${h - 8}" class="axis">${clock(t0)}</text>`,
    `<text x="${w - right}" y="${h - 8}" text-anchor="end" class="axis">${clock(t1)}</text>`,
  );
  shown.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] ?? '#333';
    const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts}"/>`);
    const last = s.points.at(-1);
    if (s.points.length === 1 && last !== undefined)
      parts.push(
        `<circle cx="${x(last.t).toFixed(1)}" cy="${y(last.v).toFixed(1)}" r="3" fill="${colour}"/>`,
      );
    const ly = top + 4 + i * 16;
    parts.push(
      `<rect x="${w - right + 8}" y="${ly - 8}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${w - right + 22}" y="${ly + 1}" class="legend">${escapeHtml(s.name.slice(0, 22))}${
        last === undefined ? '' : ` ${escapeHtml(fmt(last.v))}`
      }</text>`,
    );
  });
  if (series.length > shown.length)
    parts.push(
      `<text x="${w - right + 8}" y="${top + 4 + shown.length * 16}" class="legend">+${series.length - shown.length} more</text>`,
    );
  parts.push('</svg>');
  return parts.join('');
}

/** Stacked bars per time bucket (e.g. allowed and refused per minute). */
export function stackedBars(
  title: string,
  buckets: readonly { readonly t: string; readonly values: readonly number[] }[],
  names: readonly string[],
  colours: readonly string[],
  options: { width?: number; height?: number } = {},
): string {
  const w = options.width ?? 640;
  const h = options.height ?? 200;
  const left = 40;
  const right = 110;
  const top = 24;
  const bottom = 28;
  const max = Math.max(1, ...buckets.map((b) => b.values.reduce((a, v) => a + v, 0)));
  const bw = buckets.length === 0 ? 0 : (w - left - right) / buckets.length;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${escapeHtml(title)}</title><text x="${left}" y="16" class="chart-title">${escapeHtml(title)}</text>`,
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end" class="axis">${max}</text>`,
    `<text x="${left - 4}" y="${h - bottom}" text-anchor="end" class="axis">0</text>`,
  ];
  buckets.forEach((b, i) => {
    let base = h - bottom;
    b.values.forEach((v, k) => {
      if (v <= 0) return;
      const bh = (v / max) * (h - top - bottom);
      base -= bh;
      parts.push(
        `<rect x="${(left + i * bw + 1).toFixed(1)}" y="${base.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colours[k] ?? '#333'}"><title>${escapeHtml(`${b.t.slice(11, 16)} ${names[k] ?? ''}: ${v}`)}</title></rect>`,
      );
    });
  });
  const first = buckets[0];
  const last = buckets.at(-1);
  if (first !== undefined && last !== undefined)
    parts.push(
      `<text x="${left}" y="${h - 8}" class="axis">${escapeHtml(first.t.slice(11, 16))}</text>`,
      `<text x="${w - right}" y="${h - 8}" text-anchor="end" class="axis">${escapeHtml(last.t.slice(11, 16))}</text>`,
    );
  names.forEach((n, k) => {
    const ly = top + 4 + k * 16;
    parts.push(
      `<rect x="${w - right + 8}" y="${ly - 8}" width="10" height="10" fill="${colours[k] ?? '#333'}"/>`,
      `<text x="${w - right + 22}" y="${ly + 1}" class="legend">${escapeHtml(n)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
