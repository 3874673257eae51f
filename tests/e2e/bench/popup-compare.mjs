// Two builds' popups opened in one browser, interleaved: what a change did to the open
// time, measured within one run (this machine's load moves single runs by 2x). By hand:
//   node tests/e2e/bench/popup-compare.mjs A_DIST B_DIST [--rounds 20]
// e.g. A = a copy of main's dist/, B = this branch's. One extension (B's worker) gets
// each build's popup files under a/ and b/ (its own wasm path and so its own V8 code
// cache) and a blank page; every round opens blank, a and b in a rotating order. Each
// open is traced (Chrome tracing over the DevTools protocol) for the page's main-thread
// CPU time up to its first paint. Prints medians and the paired medians of b − a.

import { cp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { launchExtension, withTimeout } from '../lib/harness.mjs';
import { silenceWorkerPort, snapshot, storeSnapshot } from '../lib/snapshots.mjs';
import { distWithBlankPage, median } from './common.mjs';

const args = process.argv.slice(2);
const [distA, distB] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!distA || !distB) {
  console.error('usage: node tests/e2e/bench/popup-compare.mjs A_DIST B_DIST [--rounds 20]');
  process.exit(2);
}
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 20) || 20;
/** What the popup's page needs, relative to dist/. */
const POPUP_FILES = ['popup.html', 'popup_cache.js', 'popup.js', 'style.css', 'wasm', 'icons'];

// From the start of the document: the first board row in the DOM and the first
// contentful paint (for the popup, the boards: it paints nothing before them).
const HOOKS = `(() => {
  const marks = (window.__marks = {});
  new MutationObserver((_, observer) => {
    if (document.querySelector('.board tbody tr')) {
      marks.row = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') marks.paint = e.startTime;
  }).observe({ type: 'paint', buffered: true });
})();`;

/** The page's main-thread CPU (ms) from navigation start to `paint` ms after it. */
function cpuToPaint(events, pathname, paint) {
  const nav = events.find((e) => e.name === 'navigationStart' && e.args?.data?.documentLoaderURL?.endsWith(pathname));
  if (!nav) throw new Error(`no navigationStart for ${pathname} in the trace`);
  const main = new Set(
    events.filter((e) => e.name === 'thread_name' && e.pid === nav.pid && e.args?.name === 'CrRendererMain').map((e) => e.tid),
  );
  const end = nav.ts + paint * 1000;
  let cpu = 0;
  for (const e of events) {
    if (e.name === 'RunTask' && e.pid === nav.pid && main.has(e.tid) && e.ts >= nav.ts && e.ts < end) {
      cpu += (e.tdur ?? e.dur) / 1000;
    }
  }
  return cpu;
}

async function open(ext, pathname, popup) {
  const page = await ext.context.newPage();
  try {
    await page.setViewportSize({ width: 380, height: 600 });
    await page.addInitScript(HOOKS);
    await silenceWorkerPort(page);
    const cdp = await ext.context.newCDPSession(page);
    const events = [];
    cdp.on('Tracing.dataCollected', (data) => events.push(...data.value));
    await cdp.send('Tracing.start', {
      transferMode: 'ReportEvents',
      traceConfig: {
        includedCategories: ['blink.user_timing', 'disabled-by-default-devtools.timeline', '__metadata'],
      },
    });
    await page.goto(ext.url(pathname), { timeout: 15_000 });
    const shown = popup
      ? () => window.__marks.row !== undefined && window.__marks.paint !== undefined
      : () => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0 && window.__marks.paint !== undefined;
    await page.waitForFunction(shown, null, { timeout: 10_000 });
    const marks = await page.evaluate(() => ({
      ...window.__marks,
      load: performance.getEntriesByType('navigation')[0].loadEventEnd,
    }));
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    await withTimeout(complete, 15_000, 'collecting the trace');
    return { shown: popup ? marks.row : marks.load, paint: marks.paint, cpu: cpuToPaint(events, pathname, marks.paint) };
  } finally {
    await page.close();
  }
}

const { dir, dist } = await distWithBlankPage('quizpulse-compare-', path.resolve(distB));
let ext;
try {
  for (const [name, from] of [['a', distA], ['b', distB]]) {
    for (const file of POPUP_FILES) {
      await cp(path.join(path.resolve(from), file), path.join(dist, name, file), { recursive: true });
    }
  }
  ext = await launchExtension({ dist });
  const setter = await ext.context.newPage();
  await setter.goto(ext.url('blank.html'));
  await storeSnapshot(setter, snapshot());
  const pages = [
    ['blank', 'blank.html', false],
    ['a', 'a/popup.html', true],
    ['b', 'b/popup.html', true],
  ];
  const results = Object.fromEntries(pages.map(([name]) => [name, []]));
  const loadBefore = loadavg()[0];
  // Two warm-up rounds (the wasm's first compiles fill V8's code cache), not counted.
  for (let round = -2; round < rounds; round++) {
    const shift = Math.max(round, 0) % pages.length;
    for (const [name, pathname, popup] of [...pages.slice(shift), ...pages.slice(0, shift)]) {
      // Each open reopens on the first tab and finds the boards as last seen.
      await setter.evaluate(() => localStorage.clear());
      const result = await open(ext, pathname, popup);
      if (round >= 0) results[name].push(result);
    }
  }
  const f = (ms) => ms.toFixed(1).padStart(7);
  console.log(`${rounds} rounds, load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}; ms, medians`);
  console.log('page     shown (popup: first row; blank: load end)   first paint   main-thread CPU to first paint');
  for (const [name] of pages) {
    const r = results[name];
    console.log(`${name.padEnd(8)} ${f(median(r.map((x) => x.shown)))}${' '.repeat(38)}${f(median(r.map((x) => x.paint)))}       ${f(median(r.map((x) => x.cpu)))}`);
  }
  const paired = (key) => median(results.b.map((x, i) => x[key] - results.a[i][key]));
  console.log(`b − a, paired: first row ${paired('shown').toFixed(1)}, first paint ${paired('paint').toFixed(1)}, CPU ${paired('cpu').toFixed(1)}`);
} finally {
  await ext?.close();
  await rm(dir, { recursive: true, force: true });
}
