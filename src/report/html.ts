// The HTML report (--report FILE.html): one self-contained page built from a plain data object
// (report/report_data.ts makes it from a command's result). Chart.js's UMD build is read from
// node_modules and inlined with the data, so the page needs no network when it is viewed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One chart: a <canvas id={id}> drawn by Chart.js from these series. */
export interface ChartSpec {
  /** the canvas id (chart-…), unique on the page */
  id: string;
  title: string;
  /** what the chart shows and how to read it, under the chart */
  caption: string;
  type: 'bar' | 'line';
  labels: string[];
  datasets: Array<{
    label: string;
    data: number[];
    /** one colour for the series, or one per bar */
    color?: string | string[];
    /** line charts: draw as steps (a state that holds until the next step) */
    stepped?: boolean;
  }>;
  xLabel: string;
  yLabel: string;
  /** a logarithmic value axis (counts spanning orders of magnitude) */
  logY?: boolean;
  /** bars along the y axis (long category names) */
  horizontal?: boolean;
  stacked?: boolean;
  /** the value axis as a percentage (values 0..100) */
  percent?: boolean;
  /** per label, extra tooltip lines (e.g. the step's actor and yield points) */
  tooltip?: string[][];
}

export interface TableSpec {
  title: string;
  caption?: string;
  header: string[];
  rows: string[][];
  /** rows to highlight (the violating step), by index */
  highlight?: number[];
  /** set in a monospaced font (step lists) */
  mono?: boolean;
}

/** Everything the page shows: plain data (strings and numbers), also embedded in the page as JSON. */
export interface ReportData {
  /** e.g. "gmemsim explore: litmus-punch" */
  title: string;
  /** scenario, variant, seed, engine, ... as label/value pairs under the title */
  meta: Array<[string, string]>;
  summary: {
    ok: boolean;
    /** "OK, no invariant violated" or "VIOLATION I1 (…): message" */
    headline: string;
    details: string[];
    /** the command that replays the violation, when there is one */
    replay: string | null;
  };
  /** free lines after the summary (how long the run took, what was measured where) */
  facts: string[];
  /** a section per group of charts and tables, in page order */
  sections: Array<{ title: string; intro?: string; charts: ChartSpec[]; tables?: TableSpec[]; notes?: string[]; tokens?: Array<{ label: string; code: string }> }>;
  generator: string;
}

const require = createRequire(import.meta.url);

/** Chart.js's UMD build and version, from the installed package (its exports map does not name dist/chart.umd.js). */
export function chartLibrary(): { source: string; version: string } {
  const dist = dirname(require.resolve('chart.js'));
  const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const source = readFileSync(join(dist, 'chart.umd.js'), 'utf8')
    .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n') // no map to fetch
    .replace(/<\/(script)/gi, '<\\/$1');
  return { source, version };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON inside <script type="application/json">: nothing in it may close the element */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde2ea; --ok: #1f7a3d; --bad: #b3261e; --bg: #ffffff; --panel: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0 0 14px; color: var(--muted); }
dl.meta div { display: flex; gap: 6px; } dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; color: var(--fg); }
.summary { border-left: 6px solid; padding: 10px 14px; border-radius: 4px; background: var(--panel); }
.summary.ok { border-color: var(--ok); } .summary.bad { border-color: var(--bad); }
.summary .headline { font-weight: 700; font-size: 16px; }
.summary.ok .headline { color: var(--ok); } .summary.bad .headline { color: var(--bad); }
.summary p { margin: 4px 0; }
code.token { display: block; margin-top: 6px; padding: 6px 8px; background: #fff; border: 1px solid var(--line); border-radius: 4px; font-size: 12px; word-break: break-all; white-space: pre-wrap; }
ul.facts { color: var(--muted); margin: 10px 0 0; padding-left: 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 18px; }
figure { margin: 0; padding: 12px 14px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.chart-box { position: relative; height: 300px; }
figcaption { margin-top: 8px; color: var(--muted); font-size: 13px; }
p.intro, p.note { color: var(--muted); margin: 4px 0 12px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 6px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.mono td { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
tr.hl td { background: #fde7e6; font-weight: 600; }
.table-wrap { overflow-x: auto; margin-top: 18px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
`;

// Runs in the page: a Chart.js config per ChartSpec. No animation, so a chart is drawn when its
// constructor returns (and a screenshot or a pixel read sees it whole).
const PAGE_JS = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#1d2330';
  var made = 0, failed = [];
  function integers(c) { return c.datasets.every(function (d) { return d.data.every(function (v) { return Math.round(v) === v; }); }); }
  // log axes: label the powers of ten only
  function decade(v) { var l = Math.log10(v); return v >= 1 && Math.abs(l - Math.round(l)) < 1e-9 ? Number(v).toLocaleString('en-US') : ''; }
  data.sections.forEach(function (sec) {
    sec.charts.forEach(function (c) {
      try {
        var valueAxis = c.horizontal ? 'x' : 'y', catAxis = c.horizontal ? 'y' : 'x';
        var scales = {};
        scales[catAxis] = { title: { display: true, text: c.horizontal ? c.yLabel : c.xLabel }, stacked: !!c.stacked, grid: { display: c.type === 'line' } };
        scales[valueAxis] = {
          type: c.logY ? 'logarithmic' : 'linear',
          beginAtZero: !c.logY,
          stacked: !!c.stacked,
          title: { display: true, text: c.horizontal ? c.xLabel : c.yLabel },
          ticks: c.percent ? { callback: function (v) { return v + '%'; } } : (c.logY ? { callback: decade } : integers(c) ? { precision: 0 } : {})
        };
        if (c.logY) scales[valueAxis].min = 0.5; // a count of 1 still shows as a bar
        if (c.percent) scales[valueAxis].max = 100;
        var cfg = {
          type: c.type,
          data: {
            labels: c.labels,
            datasets: c.datasets.map(function (d, i) {
              var col = d.color || PALETTE[i % PALETTE.length];
              return { label: d.label, data: d.data, backgroundColor: col, borderColor: col, borderWidth: c.type === 'line' ? 2 : 0, stepped: d.stepped ? 'before' : false, pointRadius: c.type === 'line' ? 3 : undefined, fill: false };
            })
          },
          options: {
            indexAxis: c.horizontal ? 'y' : 'x',
            responsive: true,
            maintainAspectRatio: false,
            scales: scales,
            plugins: {
              legend: { display: c.datasets.length > 1, position: 'top' },
              tooltip: { callbacks: {
                afterBody: function (items) { var t = c.tooltip && items.length ? c.tooltip[items[0].dataIndex] : null; return t || []; },
                label: function (it) { var v = c.horizontal ? it.parsed.x : it.parsed.y; return it.dataset.label + ': ' + (c.percent ? v.toFixed(2) + '%' : v.toLocaleString('en-US')); }
              } }
            }
          }
        };
        new Chart(document.getElementById(c.id), cfg);
        made++;
      } catch (e) {
        failed.push(c.id + ': ' + e.message);
        console.error('gmemsim report: chart ' + c.id + ' failed: ' + e.message);
      }
    });
  });
  document.body.setAttribute('data-charts-drawn', String(made));
  if (failed.length) document.body.setAttribute('data-charts-failed', failed.join('; '));
})();
`;

function tableHtml(t: TableSpec): string {
  const hl = new Set(t.highlight ?? []);
  const isNum = (s: string) => /^-?[\d,.]+%?( \S+)?$/.test(s) && /\d/.test(s);
  return [
    `<div class="table-wrap"><h3>${esc(t.title)}</h3>`,
    `<table class="${t.mono ? 'mono' : ''}"><thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...t.rows.map((r, i) => `<tr${hl.has(i) ? ' class="hl"' : ''}>${r.map((c) => `<td${!t.mono && isNum(c) ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`),
    `</tbody></table>${t.caption ? `<p class="note">${esc(t.caption)}</p>` : ''}</div>`,
  ].join('\n');
}

function chartHtml(c: ChartSpec): string {
  return `<figure><h3>${esc(c.title)}</h3><div class="chart-box"><canvas id="${esc(c.id)}" role="img" aria-label="${esc(c.title)}"></canvas></div><figcaption>${esc(c.caption)}</figcaption></figure>`;
}

/** The whole page: the data rendered as HTML (readable without scripts), then the charts drawn by the inlined Chart.js. */
export function htmlReport(data: ReportData, lib: { source: string; version: string } = chartLibrary()): string {
  const s = data.summary;
  const body = [
    `<h1>${esc(data.title)}</h1>`,
    `<dl class="meta">${data.meta.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`,
    `<section class="summary ${s.ok ? 'ok' : 'bad'}" id="summary"><div class="headline">${esc(s.headline)}</div>`,
    ...s.details.map((d) => `<p>${esc(d)}</p>`),
    s.replay ? `<p>replay it with:</p><code class="token" id="replay">${esc(s.replay)}</code>` : '',
    `</section>`,
    data.facts.length ? `<ul class="facts">${data.facts.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : '',
    ...data.sections.map((sec) =>
      [
        `<section><h2>${esc(sec.title)}</h2>`,
        sec.intro ? `<p class="intro">${esc(sec.intro)}</p>` : '',
        sec.charts.length ? `<div class="grid">${sec.charts.map(chartHtml).join('\n')}</div>` : '',
        ...(sec.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`),
        ...(sec.tokens ?? []).map((t) => `<p class="note">${esc(t.label)}</p><code class="token">${esc(t.code)}</code>`),
        ...(sec.tables ?? []).map(tableHtml),
        `</section>`,
      ].join('\n'),
    ),
    `<footer>${esc(data.generator)}; charts drawn by Chart.js ${esc(lib.version)} (MIT), inlined in this file: it needs no network.</footer>`,
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(data.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body><main>',
    ...body,
    '</main>',
    `<script type="application/json" id="report-data">${scriptJson(data)}</script>`,
    `<script>${lib.source}</script>`,
    `<script>${PAGE_JS}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
