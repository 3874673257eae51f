// Benchmark: the popup's time from navigation start to its first board row drawn from
// the cached snapshot, against a blank extension page's open time, in one run.
// Run by `cargo xtask bench` (prints a Markdown table with --markdown); by hand:
//   node tests/e2e/bench/popup-open.mjs [--opens 20] [--markdown]
// A copy of dist/ gets a blank.html beside popup.html, so both pages are opened from the
// same extension, origin and profile. Both pages get the same init scripts; the popup's
// port to the worker is kept silent, so what is timed is the paint from the cache.

import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DIST, launchExtension, withTimeout } from '../lib/harness.mjs';
import { silenceWorkerPort, snapshot, storeSnapshot } from '../lib/snapshots.mjs';
import { distWithBlankPage, median } from './common.mjs';

const args = process.argv.slice(2);
const opens = Number(args[args.indexOf('--opens') + 1]) || 20;
const markdown = args.includes('--markdown');

// Records, from the start of the document, when the first board row appears and when
// the first contentful paint was presented (for the popup that paint has the boards: it
// shows nothing before the wasm's first render, which draws them).
const FIRST_ROW = `(() => {
  const seen = () => {
    if (document.querySelector('.board tbody tr')) {
      window.__firstRow = performance.now();
      return true;
    }
    return false;
  };
  new MutationObserver((_, observer) => { if (seen()) observer.disconnect(); })
    .observe(document, { childList: true, subtree: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === 'first-contentful-paint') window.__firstPaint = entry.startTime;
    }
  }).observe({ type: 'paint', buffered: true });
})();`;

async function timeOpen(ext, pathname, measure) {
  const page = await ext.context.newPage();
  try {
    await page.setViewportSize({ width: 380, height: 600 });
    await page.addInitScript(FIRST_ROW);
    // From the cache: the worker's live (signed-out) state must not answer first.
    await silenceWorkerPort(page);
    await page.goto(ext.url(pathname), { timeout: 15_000 });
    return await withTimeout(measure(page), 15_000, `measuring ${pathname}`);
  } finally {
    await page.close();
  }
}

const { dir, dist } = await distWithBlankPage('quizpulse-bench-', DIST);
let ext;
try {
  ext = await launchExtension({ dist });
  const setter = await ext.context.newPage();
  await setter.goto(ext.url('blank.html'));
  await storeSnapshot(setter, snapshot());
  await setter.evaluate(() => localStorage.clear());

  const popup = [];
  const blank = [];
  const popupPaint = [];
  const blankPaint = [];
  // The machine is shared: its load says how far these numbers are from a quiet run.
  const loadBefore = loadavg()[0];
  // One warm-up of each (first compile of the wasm), not counted.
  for (let i = -1; i < opens; i++) {
    await storeSnapshot(setter, snapshot());
    const p = await timeOpen(ext, 'popup.html', async (page) => {
      await page.waitForFunction(() => window.__firstRow !== undefined && window.__firstPaint !== undefined, null, {
        timeout: 10_000,
      });
      return page.evaluate(() => ({ shown: window.__firstRow, paint: window.__firstPaint }));
    });
    if (p.paint < p.shown) throw new Error(`the popup painted content (${p.paint} ms) before its boards (${p.shown} ms)`);
    const b = await timeOpen(ext, 'blank.html', async (page) => {
      await page.waitForFunction(
        () => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0 && window.__firstPaint !== undefined,
        null,
        { timeout: 10_000 },
      );
      return page.evaluate(() => ({ shown: performance.getEntriesByType('navigation')[0].loadEventEnd, paint: window.__firstPaint }));
    });
    if (i >= 0) {
      popup.push(p.shown);
      blank.push(b.shown);
      popupPaint.push(p.paint);
      blankPaint.push(b.paint);
    }
  }
  const result = {
    opens,
    popup_first_row_ms: median(popup),
    blank_loaded_ms: median(blank),
    popup_min_ms: Math.min(...popup),
    popup_max_ms: Math.max(...popup),
    popup_first_paint_ms: median(popupPaint),
    blank_first_paint_ms: median(blankPaint),
    load_average: [loadBefore, loadavg()[0]],
  };
  if (markdown) {
    const f = (ms) => `${ms.toFixed(1)} ms`;
    console.log(`| measure (median of ${opens} opens, headless Chromium) | result |`);
    console.log('|---|---:|');
    console.log(`| popup: navigation start → first board row, from the cached snapshot | ${f(result.popup_first_row_ms)} (min ${f(result.popup_min_ms)}, max ${f(result.popup_max_ms)}) |`);
    console.log(`| blank extension page: navigation start → load event end | ${f(result.blank_loaded_ms)} |`);
    console.log(`| popup − blank | ${f(result.popup_first_row_ms - result.blank_loaded_ms)} |`);
    console.log(`| popup ÷ blank | ${(result.popup_first_row_ms / result.blank_loaded_ms).toFixed(2)}× |`);
    console.log(`| popup: navigation start → first contentful paint (the boards from the cache) | ${f(result.popup_first_paint_ms)} |`);
    console.log(`| blank extension page: navigation start → first contentful paint | ${f(result.blank_first_paint_ms)} |`);
    console.log(`| popup − blank, first paint to first paint | ${f(result.popup_first_paint_ms - result.blank_first_paint_ms)} |`);
    console.log(`| machine load average (1 min) at the start and the end of the run | ${result.load_average.map((l) => l.toFixed(1)).join(' / ')} |`);
  } else {
    console.log(JSON.stringify(result));
  }
} finally {
  await ext?.close();
  await rm(dir, { recursive: true, force: true });
}
