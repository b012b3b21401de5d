// --report FILE.html, checked in a real browser: reports from small runs of explore, run and
// outcomes (in-process, through main), each loaded from file:// in Debian's headless Chromium
// driven by playwright-core. Each page must load with no console error and no request off the
// file, have its charts' canvases, each with drawn pixels, and screenshot as a page that is not
// blank. Every bound is a count of operations or schedules, never a wall-clock assertion.
//
// Chromium is required: missing, the browser tests fail saying how to install it, unless
// GMEMSIM_SKIP_BROWSER=1. GMEMSIM_REPORT_SCREENSHOTS=DIR writes each page's full screenshot
// there (gmemsim-report-explore.png, -run.png, -explore-next.png, -outcomes.png).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

const CHROMIUM = process.env.GMEMSIM_CHROMIUM ?? '/usr/bin/chromium';
const SKIP_BROWSER = process.env.GMEMSIM_SKIP_BROWSER === '1';
const SHOTS = process.env.GMEMSIM_REPORT_SCREENSHOTS;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  name: string;
  argv: string[];
  code: number;
  charts: string[];
  summary: RegExp;
}
const CASES: Case[] = [
  {
    name: 'explore',
    // B1 on litmus-punch: the portfolio finds I1 at schedule 205 with seed 1 (2,000 is the bound)
    argv: ['explore', '--variant', 'B1', '--scenario', 'litmus-punch', '--schedules', '2000'],
    code: 1,
    charts: ['chart-finding-state', 'chart-retries', 'chart-outcomes', 'chart-inv-windows'],
    summary: /^VIOLATION I1 /,
  },
  {
    name: 'run',
    // the default scenario (two NUMA nodes) on worker threads, 200 operations per actor
    argv: ['run', '--ops', '200'],
    code: 0,
    charts: ['chart-retries', 'chart-outcomes', 'chart-inv-windows', 'chart-mmu-lock', 'chart-numa-memory', 'chart-numa-alloc'],
    summary: /^OK, no invariant violated/,
  },
  {
    name: 'explore-next',
    // kernel "next": the in-place conversion section (its chart and figures) joins the telemetry
    argv: ['explore', '--scenario', 'conversions-inplace-selftest', '--schedules', '200'],
    code: 0,
    charts: ['chart-retries', 'chart-outcomes', 'chart-inv-windows', 'chart-conversions'],
    summary: /^OK, no invariant violated/,
  },
  {
    name: 'outcomes',
    argv: ['outcomes', '--scenario', 'litmus-punch', '--duration', '300'],
    code: 0,
    charts: ['chart-outcomes-compare'],
    summary: /^OK, nothing FORBIDDEN/,
  },
];

const reports = new Map<string, { path: string; html: string; out: string }>();
beforeAll(async () => {
  for (const c of CASES) {
    const path = join(dir, `${c.name}.html`);
    const r = await cli(...c.argv, '--report', path);
    expect(r.code, `${c.name}: ${r.err.join('\n')}`).toBe(c.code);
    reports.set(c.name, { path, html: readFileSync(path, 'utf8'), out: r.out });
  }
}, 120_000);

describe('--report FILE.html (the file)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: one self-contained page (Chart.js inlined, nothing fetched), a canvas per chart', (name, c) => {
    const { html } = reports.get(name)!;
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('Chart.js v4'); // the inlined library's banner
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|url\(\s*['"]?https?:/i);
    expect([...html.matchAll(/<canvas id="([^"]+)"/g)].map((m) => m[1])).toEqual(c.charts);
    expect(html).toMatch(/<title>gmemsim [a-z]+: [a-z-]+<\/title>/);
  });

  it('the summary carries the violation and the token the text report prints', () => {
    const { html, out } = reports.get('explore')!;
    const token = /replay: gmemsim replay (gm\S+)/.exec(out)![1];
    expect(html).toContain(`gmemsim replay ${token}`);
    expect(html).toContain('The shrunk schedule, step by step');
  });

  it('the output path is checked before any work: a missing directory is bad input (exit 2)', async () => {
    for (const cmd of ['run', 'explore', 'outcomes']) {
      const r = await cli(cmd, '--report', join(dir, 'no-such-dir', 'r.html'));
      expect(r.code).toBe(2);
      expect(r.err.join('\n')).toMatch(new RegExp(`gmemsim ${cmd}: --report .*does not exist`));
    }
  });

  it('each command documents --report in its --help', async () => {
    for (const cmd of ['run', 'explore', 'outcomes']) expect((await cli(cmd, '--help')).out).toMatch(/--report FILE\.html +also write an HTML report/);
  });
});

// What the functions given to page.evaluate use: they run in the page, and this program has no DOM lib.
declare const document: any;
declare const Image: any;

/** Width and height from a PNG's IHDR. */
const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

describe.skipIf(SKIP_BROWSER)('--report FILE.html in headless Chromium', () => {
  let ctx: BrowserContext | null = null;
  let profile = '';
  // a failing hook would leave the tests "skipped": each test fails instead, saying why
  const MISSING = `headless Chromium is not at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does), point GMEMSIM_CHROMIUM at one, or set GMEMSIM_SKIP_BROWSER=1 to skip the browser checks`;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) return;
    profile = mkdtempSync(join(tmpdir(), 'gmemsim-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: loads without errors; every chart drawn; the page is not blank', async (name, c) => {
    if (!ctx) throw new Error(MISSING);
    const page = await ctx.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(reports.get(name)!.path).href, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-drawn]');
    const drawn = await page.evaluate(() => ({ n: Number(document.body.dataset.chartsDrawn), failed: document.body.dataset.chartsFailed ?? null }));
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
    expect(drawn).toEqual({ n: c.charts.length, failed: null });
    expect(await page.locator('#summary .headline').innerText()).toMatch(c.summary);

    // Each canvas read back: pixels drawn at all (axes, labels, bars), and coloured ones (the bars
    // and lines: the axes and text are grey or black).
    const pixels = await page.evaluate((ids: string[]) => {
      return ids.map((id) => {
        const cv = document.getElementById(id);
        if (!cv) return { id, width: 0, height: 0, drawn: 0, coloured: 0 };
        const d: Uint8ClampedArray = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        let drawn = 0;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] === 0) continue;
          drawn++;
          if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60 && d[i + 3] > 128) coloured++;
        }
        return { id, width: cv.width, height: cv.height, drawn, coloured };
      });
    }, c.charts);
    for (const p of pixels) {
      expect(p.width * p.height, `${name}: ${p.id} has no size`).toBeGreaterThan(10_000);
      expect(p.drawn, `${name}: ${p.id} is blank`).toBeGreaterThan(2_000);
      expect(p.coloured, `${name}: ${p.id} has no bars or lines`).toBeGreaterThan(100);
    }

    const png = await page.screenshot({ fullPage: true });
    const size = pngSize(png);
    expect(size.width).toBe(1280);
    expect(size.height).toBeGreaterThan(900);
    // the screenshot decoded by the browser: many distinct colours (text, charts), not one background
    const colours = await page.evaluate(async (b64: string) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const cv = document.createElement('canvas');
      cv.width = img.width;
      cv.height = img.height;
      const g = cv.getContext('2d');
      g.drawImage(img, 0, 0);
      const d: Uint8ClampedArray = g.getImageData(0, 0, cv.width, cv.height).data;
      const seen = new Set<number>();
      let nonWhite = 0;
      for (let i = 0; i < d.length; i += 4) {
        seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) nonWhite++;
      }
      return { distinct: seen.size, nonWhite };
    }, png.toString('base64'));
    expect(colours.distinct).toBeGreaterThan(200);
    expect(colours.nonWhite).toBeGreaterThan(50_000);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      writeFileSync(join(SHOTS, `gmemsim-report-${name}.png`), png);
    }
    console.log(`report ${name}: screenshot ${size.width}x${size.height}, ${colours.distinct} colours, ${colours.nonWhite} non-white pixels; ${pixels.map((p) => `${p.id} ${p.drawn} drawn / ${p.coloured} coloured`).join(', ')}`);
    await page.close();
  }, 60_000);
});
