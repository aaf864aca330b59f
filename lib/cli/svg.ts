/**
 * A line plot as a standalone SVG document (no dependency): axes with ticks and labels, one
 * <path class="series"> per series, and a legend. Opens in any browser.
 */

export interface PlotSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  /** Extra attribute values to help tools (e.g. data-p="0.25"). */
  data?: Record<string, string>;
}

export interface PlotOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly PlotSeries[];
  /** Divide y values by this before plotting (e.g. 1048576 for MiB). */
  yScale?: number;
  width?: number;
  height?: number;
}

/** Colour-blind-safe palette (Okabe-Ito, with black last). */
const PALETTE = ['#0072B2', '#009E73', '#56B4E9', '#E69F00', '#CC79A7', '#D55E00', '#000000', '#F0E442'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

export function renderLinePlot(opts: PlotOptions): string {
  const width = opts.width ?? 860;
  const height = opts.height ?? 520;
  const scale = opts.yScale ?? 1;
  const margin = { left: 78, right: 215, top: opts.subtitle ? 64 : 48, bottom: 58 };
  const pw = width - margin.left - margin.right;
  const ph = height - margin.top - margin.bottom;

  const all = opts.series.flatMap((s) => s.points.map(([x, y]) => [x, y / scale] as const));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xTicks = niceTicks(Math.min(0, ...xs), Math.max(1, ...xs));
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(Number.MIN_VALUE, ...ys));
  const x0 = xTicks[0];
  const x1 = xTicks[xTicks.length - 1];
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const px = (x: number): number => margin.left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => margin.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const r = (v: number): string => v.toFixed(1);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<title>${escapeXml(opts.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${margin.left}" y="26" font-size="17" font-weight="bold">${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${margin.left}" y="46" fill="#555555">${escapeXml(opts.subtitle)}</text>`);

  // Grid and ticks.
  out.push('<g class="axes" stroke="#dddddd" stroke-width="1">');
  for (const t of yTicks) out.push(`<line x1="${r(margin.left)}" y1="${r(py(t))}" x2="${r(margin.left + pw)}" y2="${r(py(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${r(px(t))}" y1="${r(margin.top)}" x2="${r(px(t))}" y2="${r(margin.top + ph)}"/>`);
  out.push('</g>');
  out.push(`<g class="frame" stroke="#333333" stroke-width="1.2" fill="none"><line x1="${margin.left}" y1="${r(margin.top + ph)}" x2="${r(margin.left + pw)}" y2="${r(margin.top + ph)}"/><line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${r(margin.top + ph)}"/></g>`);
  out.push('<g class="tick-labels" fill="#333333">');
  for (const t of yTicks) out.push(`<text x="${margin.left - 8}" y="${r(py(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`);
  for (const t of xTicks) out.push(`<text x="${r(px(t))}" y="${r(margin.top + ph + 20)}" text-anchor="middle">${fmtTick(t)}</text>`);
  out.push('</g>');
  out.push(`<text class="x-label" x="${r(margin.left + pw / 2)}" y="${height - 14}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text class="y-label" transform="translate(20 ${r(margin.top + ph / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);

  // Series, the first listed painted last so it stays visible where lines overlap (p = 0 at the
  // bottom of the demo's plot), and the legend in the listed order.
  [...opts.series.entries()].reverse().forEach(([i, s]) => {
    const color = PALETTE[i % PALETTE.length];
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${r(px(x))} ${r(py(y / scale))}`).join(' ');
    const data = Object.entries(s.data ?? {}).map(([k, v]) => ` data-${k}="${escapeXml(v)}"`).join('');
    out.push(`<path class="series"${data} d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"><title>${escapeXml(s.label)}</title></path>`);
  });
  const lx = margin.left + pw + 22;
  out.push('<g class="legend">');
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const ly = margin.top + 10 + i * 22;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${color}" stroke-width="3"/><text x="${lx + 34}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
