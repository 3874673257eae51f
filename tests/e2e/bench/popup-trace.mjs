// Where the popup's open time goes: the steps between navigation start and the first
// paint of the boards from the cached snapshot, and what the page's main thread spent
// its CPU on. By hand (after `cargo xtask dist`):
//   node tests/e2e/bench/popup-trace.mjs [--opens 10] [--page popup.html|blank.html] [--save trace.json]
// Each open is timed with hooks on the APIs the loader calls; the last one is also
// recorded with Chrome's tracing (DevTools protocol), which gives each file's load and
// the main thread's CPU time by task. The port to the worker is kept silent, as in
// popup-open.mjs. Compare runs only as ratios within one run: the machine is shared.

import { rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { DIST, launchExtension, withTimeout } from '../lib/harness.mjs';
import { silenceWorkerPort, snapshot, storeSnapshot } from '../lib/snapshots.mjs';
import { distWithBlankPage, median } from './common.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const opens = Number(option('--opens', 10)) || 10;
const pageName = option('--page', 'popup.html');
const save = option('--save', null);

// Marks, from the start of the document: each hooked call's start (>) and end (<).
const HOOKS = `(() => {
  const marks = (window.__marks = {});
  const mark = (name, at = performance.now()) => { marks[name] ??= at; };
  const hook = (owner, key, name) => {
    const original = owner?.[key];
    if (typeof original !== 'function') return;
    owner[key] = function (...args) {
      mark(name + ' >');
      const result = original.apply(this, args);
      if (result && typeof result.then === 'function') {
        result.then(() => mark(name + ' <'), () => mark(name + ' failed'));
      } else {
        mark(name + ' <');
      }
      return result;
    };
  };
  hook(chrome.storage?.session, 'get', 'chrome.storage.session.get');
  hook(Storage.prototype, 'getItem', 'localStorage.getItem');
  hook(WebAssembly, 'compileStreaming', 'WebAssembly.compileStreaming');
  hook(WebAssembly, 'instantiateStreaming', 'WebAssembly.instantiateStreaming');
  hook(WebAssembly, 'instantiate', 'WebAssembly.instantiate');
  document.addEventListener('DOMContentLoaded', () => mark('DOMContentLoaded'));
  new MutationObserver((_, observer) => {
    if (document.querySelector('.board tbody tr')) {
      mark('first board row in the DOM');
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) mark(entry.name + ' (presented)', entry.startTime);
  }).observe({ type: 'paint', buffered: true });
})();`;

/** Each file's request → response → finish, from the trace's resource events. */
function files(events, t0) {
  const byId = new Map();
  for (const e of events) {
    const d = e.args?.data;
    if (!d?.requestId) continue;
    const r = byId.get(d.requestId) ?? {};
    byId.set(d.requestId, r);
    const at = (e.ts - t0) / 1000;
    if (e.name === 'ResourceSendRequest') Object.assign(r, { file: d.url.split('/').slice(3).join('/'), requested: at });
    if (e.name === 'ResourceReceiveResponse') r.response = at;
    if (e.name === 'ResourceFinish') Object.assign(r, { finished: at, bytes: d.encodedDataLength });
  }
  return [...byId.values()].filter((r) => r.file).sort((a, b) => a.requested - b.requested);
}

// A main-thread task is named for the first of these it contains (in this order).
const KINDS = [
  ['v8.wasm', 'wasm compile'],
  ['wasm.', 'wasm compile / instantiate'],
  ['RunMicrotasks', 'script (promise jobs: init, popupMain)'],
  ['EvaluateScript', 'script (classic)'],
  ['v8.evaluateModule', 'script (module)'],
  ['ParseHTML', 'HTML parse (and the scripts it runs)'],
  ['UpdateLayoutTree', 'style, layout, paint'],
  ['Layout', 'style, layout, paint'],
  ['Paint', 'style, layout, paint'],
  ['LocalWindowProxy::Initialize', 'new window: script context and init scripts'],
  ['CommitNavigation', 'navigation commit'],
  ['ResponseBodyLoader', 'file loading'],
  ['URLLoader', 'file loading'],
  ['OnReceiveResponse', 'file loading'],
  ['ResourceRequestSender', 'file loading'],
];

/** The page's main-thread CPU time from navigation start to `end` (µs), by kind of task. */
function mainThreadCpu(events, nav, end) {
  const main = new Set(
    events.filter((e) => e.name === 'thread_name' && e.pid === nav.pid && e.args?.name === 'CrRendererMain').map((e) => e.tid),
  );
  const mine = events
    .filter((e) => e.pid === nav.pid && main.has(e.tid) && e.ph === 'X' && e.ts >= nav.ts && e.ts < end)
    .sort((a, b) => a.ts - b.ts);
  const kinds = new Map();
  let total = 0;
  for (const task of mine.filter((e) => e.name === 'RunTask')) {
    const inside = mine.filter((e) => e !== task && e.ts >= task.ts && e.ts + (e.dur ?? 0) <= task.ts + task.dur);
    const kind = KINDS.find(([prefix]) => inside.some((e) => e.name.startsWith(prefix)))?.[1] ?? 'other';
    const cpu = (task.tdur ?? task.dur) / 1000;
    total += cpu;
    kinds.set(kind, (kinds.get(kind) ?? 0) + cpu);
  }
  return { total, kinds: [...kinds].sort((a, b) => b[1] - a[1]) };
}

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'blink.user_timing',
  'loading',
  'v8',
  'v8.wasm',
  '__metadata',
];

// The same blank page as popup-open.mjs, for `--page blank.html`.
const { dir, dist } = await distWithBlankPage('quizpulse-trace-', DIST);
let ext;
try {
  ext = await launchExtension({ dist });
  const setter = await ext.context.newPage();
  await setter.goto(ext.url(pageName));
  await storeSnapshot(setter, snapshot());
  const loadBefore = loadavg()[0];
  const runs = [];
  let traced = null;
  // One warm-up open (the wasm's first compile fills V8's code cache), not counted.
  for (let i = -1; i < opens; i++) {
    await storeSnapshot(setter, snapshot());
    const page = await ext.context.newPage();
    try {
      await page.setViewportSize({ width: 380, height: 600 });
      await page.addInitScript(HOOKS);
      await silenceWorkerPort(page);
      const last = i === opens - 1;
      const events = [];
      let cdp = null;
      if (last) {
        cdp = await ext.context.newCDPSession(page);
        cdp.on('Tracing.dataCollected', (data) => events.push(...data.value));
        await cdp.send('Tracing.start', {
          transferMode: 'ReportEvents',
          traceConfig: { includedCategories: CATEGORIES },
        });
      }
      await page.goto(ext.url(pageName), { timeout: 15_000 });
      await page.waitForFunction(() => window.__marks?.['first-contentful-paint (presented)'] !== undefined, null, {
        timeout: 10_000,
      });
      const marks = await page.evaluate(() => window.__marks);
      if (cdp) {
        const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
        await cdp.send('Tracing.end');
        await withTimeout(complete, 15_000, 'collecting the trace');
        traced = { events, marks };
      }
      if (i >= 0) runs.push(marks);
    } finally {
      await page.close();
    }
  }

  console.log(`${pageName}: median of ${opens} opens, ms from navigation start (load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)})`);
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const rows = names
    .map((name) => [name, median(runs.map((r) => r[name]).filter((x) => x !== undefined))])
    .sort((a, b) => a[1] - b[1]);
  for (const [name, at] of rows) console.log(`  ${at.toFixed(1).padStart(7)}  ${name}`);

  const { events, marks } = traced;
  const nav = events.find((e) => e.name === 'navigationStart' && e.args?.data?.documentLoaderURL?.endsWith(pageName));
  if (!nav) throw new Error('the trace has no navigationStart for the page');
  console.log(`\nthe last open, traced: files (ms from navigation start)`);
  for (const f of files(events, nav.ts)) {
    console.log(
      `  ${f.file.padEnd(28)} requested ${f.requested.toFixed(1).padStart(6)}  response ${(f.response ?? NaN).toFixed(1).padStart(6)}  finished ${(f.finished ?? NaN).toFixed(1).padStart(6)}`,
    );
  }
  const end = nav.ts + marks['first-contentful-paint (presented)'] * 1000;
  const cpu = mainThreadCpu(events, nav, end);
  console.log(`\nthe last open: main-thread CPU from navigation start to the first paint: ${cpu.total.toFixed(1)} ms`);
  for (const [kind, ms] of cpu.kinds) console.log(`  ${ms.toFixed(1).padStart(7)}  ${kind}`);
  for (const name of ['v8.wasm.compileConsume', 'v8.wasm.compiledModule', 'v8.wasm.cachedModule']) {
    const hit = events.find((e) => e.name === name && e.pid === nav.pid);
    if (hit) console.log(`  (${name} at ${((hit.ts - nav.ts) / 1000).toFixed(1)} ms${hit.dur ? `, ${(hit.dur / 1000).toFixed(1)} ms` : ''})`);
  }
  if (save) await writeFile(save, JSON.stringify({ traceEvents: events }));
} finally {
  await ext?.close();
  await rm(dir, { recursive: true, force: true });
}
