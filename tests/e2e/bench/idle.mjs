// Benchmark, run by `cargo xtask bench` (section "idle"): with the popup closed and no
// page of the extension open, after IDLE_S (600) seconds idle, how long from an upload
// on a followed quiz to its notification, in headless Chromium (dist/) and headless
// Firefox ESR (dist-firefox/) side by side, each against its own real server.
//
// Nothing may keep the background alive that a user's browser would not have:
// - Chromium is started by hand with a DevTools port and driven over the raw
//   protocol, attaching only to an extension page while signing in and while
//   watching for the notification (Playwright attaches to every service worker,
//   which keeps it from being stopped); whether the worker is alive is read from the
//   target list every 30 s, without attaching.
// - Firefox is driven by geckodriver, which attaches to no extension context.
// The notification is read from the browser's own list: Chromium's
// `chrome.notifications.getAll()` from a blank extension page, Firefox's alert windows.
//
// Prints a Markdown section. Needs QUIZPULSE_DIST, QUIZPULSE_DIST_FIREFOX,
// QUIZPULSE_SERVER_BIN, QUIZPULSE_CHROMIUM, QUIZPULSE_FIREFOX, QUIZPULSE_GECKODRIVER.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { closeNotifications, closeTab, launchFirefox, pageCall, shownNotifications } from '../lib/firefox.mjs';
import { CHROMIUM, DIST, chromiumFlags, startServer, withTimeout } from '../lib/harness.mjs';
import { LIVE_ARGS, SNAPSHOT_KEY, accessToken, openSockets, upload, waitFor } from '../lib/live.mjs';
import { distWithBlankPage, median } from './common.mjs';

const IDLE_S = Number(process.env.QUIZPULSE_BENCH_IDLE_S ?? 600);
const SAMPLE_EVERY_S = 30;
/** Uploads after the idle time: the first is the figure, the others show the spread. */
const UPLOADS = 3;
/** Past the core's 10 s coalescing of one quiz's notifications. */
const UPLOAD_SPACING_MS = 12_000;
const QUIZ = 'quadratics';
const TITLE = 'Quadratics';

/** A DevTools protocol connection to a browser (flattened sessions). */
async function devtools(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), 15_000, 'the DevTools socket');
  let next = 1;
  const waiting = new Map();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    const entry = message.id !== undefined && waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id);
    if (message.error) entry.reject(new Error(`${entry.method}: ${message.error.message}`));
    else entry.resolve(message.result);
  });
  return {
    send(method, params = {}, sessionId = undefined) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params, sessionId }));
      return withTimeout(new Promise((resolve, reject) => waiting.set(id, { resolve, reject, method })), 30_000, method);
    },
    close: () => ws.close(),
  };
}

/** Starts Chromium with the extension in `dist` and a DevTools port; returns its socket URL and a stop(). */
async function startChromium(dist, profile) {
  const child = spawn(CHROMIUM, [
    ...chromiumFlags(dist),
    `--user-data-dir=${profile}`,
    '--remote-debugging-port=0',
    'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await withTimeout(new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(log);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited (${code}): ${log}`)));
  }), 30_000, 'Chromium');
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await withTimeout(new Promise((r) => child.once('exit', r)), 10_000, 'stopping Chromium').catch(() => child.kill('SIGKILL'));
      }
    },
  };
}

async function chromiumRun() {
  const server = await startServer({ args: LIVE_ARGS });
  const { dir, dist } = await distWithBlankPage('quizpulse-idle-', DIST);
  const profile = path.join(dir, 'profile');
  const browser = await startChromium(dist, profile);
  const cdp = await devtools(browser.url);
  const workers = async () =>
    (await cdp.send('Target.getTargets')).targetInfos.filter(
      (t) => t.type === 'service_worker' && t.url.startsWith('chrome-extension://'),
    );
  try {
    const [worker] = await waitFor(async () => {
      const found = await workers();
      return found.length ? found : null;
    }, 30_000, 'the extension service worker');
    const id = new URL(worker.url).host;
    // An extension page to talk to the worker from; closed while idle.
    const page = async () => {
      const { targetId } = await cdp.send('Target.createTarget', { url: `chrome-extension://${id}/blank.html` });
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
      const evaluate = async (expression) => {
        const { result, exceptionDetails } = await cdp.send(
          'Runtime.evaluate',
          { expression, awaitPromise: true, returnByValue: true },
          sessionId,
        );
        if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
        return result.value;
      };
      // The new target starts on about:blank: wait for the extension page itself.
      await waitFor(
        () =>
          evaluate(
            `location.protocol === 'chrome-extension:' && document.readyState === 'complete' && typeof chrome.runtime?.sendMessage === 'function'`,
          ).catch(() => false),
        10_000,
        'the blank page',
      );
      return { evaluate, close: () => cdp.send('Target.closeTarget', { targetId }) };
    };
    const snapshot = async (p) => {
      const text = await p.evaluate(`chrome.storage.session.get(${JSON.stringify(SNAPSHOT_KEY)}).then((i) => i[${JSON.stringify(SNAPSHOT_KEY)}] ?? null)`);
      return text ? JSON.parse(text) : null;
    };
    const setup = await page();
    const send = (message) => setup.evaluate(`chrome.runtime.sendMessage(${JSON.stringify(message)})`);
    await send({ type: 'sign_in', server: server.url, username: 'alice', password: 'alice-pass' });
    await waitFor(async () => (await snapshot(setup))?.connection?.state === 'connected', 30_000, 'Chromium connected');
    await send({ type: 'follow', quiz_id: QUIZ });
    await waitFor(
      async () => (await snapshot(setup))?.quizzes?.find((q) => String(q.quiz.id) === QUIZ)?.subscription === 'confirmed',
      15_000,
      'Chromium subscribed',
    );
    await setup.close();
    const idle = await idleFor(server, async () => (await workers()).length > 0);
    const watch = await page();
    const latencies = await uploadsAfterIdle(server, async () => {
      const ids = await watch.evaluate('chrome.notifications.getAll().then(Object.keys)');
      return ids.some((n) => n.includes(QUIZ));
    }, () => watch.evaluate('chrome.notifications.getAll().then((all) => Promise.all(Object.keys(all).map((n) => chrome.notifications.clear(n))))'));
    const version = (await cdp.send('Browser.getVersion')).product;
    return { browser: version.replace(/^(Headless)?Chrome\//, 'Chromium '), background: 'service worker (MV3)', idle, latencies };
  } finally {
    cdp.close();
    await browser.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function firefoxRun() {
  const server = await startServer({ args: LIVE_ARGS });
  const ff = await launchFirefox();
  const { driver } = ff;
  try {
    const setup = await ff.openPage('options.html');
    const send = (message) => pageCall(driver, 'return await browser.runtime.sendMessage(arguments[0]);', message);
    const snapshot = async () => {
      const text = await pageCall(driver, `return (await browser.storage.session.get(arguments[0]))[arguments[0]] ?? null;`, SNAPSHOT_KEY);
      return text ? JSON.parse(text) : null;
    };
    await send({ type: 'sign_in', server: server.url, username: 'alice', password: 'alice-pass' });
    await waitFor(async () => (await snapshot())?.connection?.state === 'connected', 30_000, 'Firefox connected');
    await send({ type: 'follow', quiz_id: QUIZ });
    await waitFor(
      async () => (await snapshot())?.quizzes?.find((q) => String(q.quiz.id) === QUIZ)?.subscription === 'confirmed',
      15_000,
      'Firefox subscribed',
    );
    await closeTab(driver, setup);
    // A persistent page has no life of its own to sample: the socket is its evidence.
    const idle = await idleFor(server, null);
    const latencies = await uploadsAfterIdle(
      server,
      async () => (await shownNotifications(driver)).some((n) => n.title === TITLE),
      () => closeNotifications(driver),
    );
    const version = (await driver.getCapabilities()).get('browserVersion');
    return { browser: `Firefox ${version}`, background: 'persistent page (MV2)', idle, latencies };
  } finally {
    await ff.close();
    await server.stop();
  }
}

/** Waits IDLE_S, sampling the server's open sockets (and `alive()`) every 30 s. */
async function idleFor(server, alive) {
  const samples = [];
  const start = Date.now();
  while (Date.now() - start < IDLE_S * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_S * 1000, IDLE_S * 1000 - (Date.now() - start))));
    samples.push({ sockets: await openSockets(server), alive: alive ? await alive() : null });
  }
  return samples;
}

/** Uploads on the followed quiz; the time from each answer to its notification (null: none within 5 s). */
async function uploadsAfterIdle(server, shown, clear) {
  const bob = await accessToken(server, 'bob');
  const latencies = [];
  for (let i = 0; i < UPLOADS; i += 1) {
    await clear();
    const sent = await upload(server, bob, QUIZ, 50 + i);
    const seenAt = await waitFor(async () => ((await shown()) ? Date.now() : null), 5_000, 'the notification', 25).catch(() => null);
    latencies.push(seenAt === null ? null : seenAt - sent.at);
    if (i + 1 < UPLOADS) await new Promise((r) => setTimeout(r, UPLOAD_SPACING_MS));
  }
  return latencies;
}

function row(r) {
  const open = r.idle.filter((s) => s.sockets === 1).length;
  const alive = r.idle.some((s) => s.alive !== null)
    ? `; worker running in ${r.idle.filter((s) => s.alive).length} of ${r.idle.length}`
    : '';
  const [first, ...rest] = r.latencies;
  const ms = (v) => (v === null ? 'none within 5 s' : `${v} ms`);
  const seen = r.latencies.filter((v) => v !== null);
  return `| ${r.browser} | ${r.background} | ${open} of ${r.idle.length} samples${alive} | **${ms(first)}** | ${rest.map(ms).join(', ')} | ${seen.length ? `${median(seen)} ms` : '-'} |`;
}

const results = await Promise.all([chromiumRun(), firefoxRun()]);
console.log(
  [
    '## Notifications after 10 minutes idle, Chromium and Firefox',
    '',
    `\`node tests/e2e/bench/idle.mjs\` (run by \`cargo xtask bench idle\`): each browser headless with its built package (\`dist/\`, \`dist-firefox/\`) and its own reference server, signed in, Quadratics followed, then every page of the extension closed and nothing attached to its background; ${IDLE_S} s idle (the server's open sockets sampled every ${SAMPLE_EVERY_S} s, and for Chromium whether the service worker runs, from the DevTools target list); then ${UPLOADS} uploads on Quadratics ${UPLOAD_SPACING_MS / 1000} s apart, each timed from the server's answer to the notification in the browser's own list (Chromium: \`chrome.notifications.getAll()\` from a blank extension page, polled every 25 ms; Firefox: its alert windows, read from the chrome context every 25 ms). Both browsers ran at once on this 2-core machine.`,
    '',
    '| browser | background | socket open while idle | first upload after the idle time → notification | the next uploads | median |',
    '|---|---|---|---:|---|---:|',
    ...results.map(row),
  ].join('\n'),
);
