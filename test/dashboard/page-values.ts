/** Reads the `data-k="key">value<` pairs a dashboard page marks its numbers with. */
export function dataValues(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/data-k="([^"]+)">([^<]*)</g)) {
    const key = (m[1] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
    out.set(key, (m[2] ?? '').replace(/&amp;/g, '&'));
  }
  return out;
}
