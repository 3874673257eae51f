// Which background carries "one live socket, and notifications with the popup
// closed" in Firefox: the real add-on (dist-firefox/, the same wasm and loaders) as
// an event page (Manifest V3 `background.scripts`, its manifest converted back) and as
// the persistent page it ships as (Manifest V2 `"persistent": true`), each in its own
// headless Firefox ESR against the real server, behind the relay that sees each
// socket open and close.
//
// Firefox stops an event page after 30 s (extensions.background.idle.timeout) without
// an event for it or a call it makes to an extension API; an open socket is neither.
// The add-on calls an API whenever its state changes (the snapshot it caches in
// storage.session), which a message on its socket usually causes: so what decides is
// whether the socket carries anything while nothing happens. Each kind runs twice:
// with the reference server, which answers the client's keepalive ping every 20 s, and
// with a server that never answers pings (the contract makes them optional: the relay
// keeps the pings from the server).
//
// Each run: sign in from the options page, follow Quadratics, close every page of the
// add-on, wait DURATION_S with nothing happening, then upload one session on
// Quadratics. Recorded: when the server side saw each socket open and close, and
// whether the upload raised a notification within 5 s (Firefox's alert windows). The
// four runs go at once, each with its own browser and server.
//
// Run by `cargo xtask bench firefox-background`; by hand:
//   QUIZPULSE_SERVER_BIN=target/debug/quizpulse-server node tests/e2e/firefox/bench/background-kind.mjs
// Prints a Markdown section on stdout.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DIST_FIREFOX,
  closeNotifications,
  closeTab,
  inChromeAsync,
  launchFirefox,
  pageCall,
  shownNotifications,
} from '../../lib/firefox.mjs';
import { startServer } from '../../lib/harness.mjs';
import { LIVE_ARGS, accessToken, upload, waitFor } from '../../lib/live.mjs';
import { startWiretap } from '../../lib/wiretap.mjs';

const DURATION_S = Number(process.env.QUIZPULSE_BENCH_DURATION_S ?? 120);

/** The Firefox package's manifest as a Manifest V3 event page (what Firefox offers instead of a service worker). */
function asEventPage(manifest) {
  const m = structuredClone(manifest);
  m.manifest_version = 3;
  m.background = { scripts: m.background.scripts, type: 'module' };
  m.action = m.browser_action;
  delete m.browser_action;
  m.host_permissions = m.permissions.filter((p) => p.includes('://'));
  m.permissions = m.permissions.filter((p) => !p.includes('://'));
  m.optional_host_permissions = m.optional_permissions;
  delete m.optional_permissions;
  m.content_security_policy = { extension_pages: m.content_security_policy };
  delete m.options_ui.browser_style;
  return m;
}

async function measure({ kind, pings }) {
  const server = await startServer({ args: LIVE_ARGS });
  const tap = await startWiretap(server, { drop: pings ? [] : ['ping'] });
  const dir = await mkdtemp(path.join(tmpdir(), 'quizpulse-bg-kind-'));
  await cp(DIST_FIREFOX, dir, { recursive: true, filter: (src) => !src.endsWith('.zip') });
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  const used = kind === 'event' ? asEventPage(manifest) : manifest;
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(used, null, 2));
  const ff = await launchFirefox({ addon: dir, temporary: true });
  const { driver } = ff;
  try {
    if (kind === 'event') {
      // A temporary Manifest V3 add-on's host access is the user's to grant: granted here.
      await inChromeAsync(
        driver,
        `const [id, origins, done] = arguments;
         const { ExtensionPermissions } = ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
         ExtensionPermissions.add(id, { origins, permissions: [] }).then(() => done(true), (e) => done(String(e)));`,
        ff.geckoId,
        used.host_permissions,
      );
    }
    const page = await ff.openPage('options.html');
    const send = (message) => pageCall(driver, 'return await browser.runtime.sendMessage(arguments[0]);', message);
    await send({ type: 'sign_in', server: tap.url, username: 'alice', password: 'alice-pass' });
    await waitFor(() => tap.sockets().some((s) => s.closedAt === null), 20_000, `a socket (${kind})`);
    await send({ type: 'follow', quiz_id: 'quadratics' });
    await waitFor(
      () => tap.messages('subscribe_quiz').some((m) => m.quiz_id === 'quadratics'),
      10_000,
      'quadratics subscribed',
    );
    await closeTab(driver, page);
    await closeNotifications(driver);
    const start = Date.now();
    await new Promise((r) => setTimeout(r, DURATION_S * 1000));
    // A token of its own for the upload (an access token lives 5 minutes).
    const last = await upload(server, await accessToken(server, 'bob'), 'quadratics', 99);
    const notified = await waitFor(
      async () => (await shownNotifications(driver)).some((n) => n.title === 'Quadratics'),
      5_000,
      'a notification',
      50,
    ).then(
      () => true,
      () => false,
    );
    const sockets = tap.sockets().map((s) => ({
      opened: (s.at - start) / 1000,
      closed: s.closedAt === null ? null : (s.closedAt - start) / 1000,
    }));
    const pinged = tap.messages('ping').length;
    return { kind, pings, pinged, sockets, notified, last: (last.at - start) / 1000, version: (await driver.getCapabilities()).get('browserVersion') };
  } finally {
    await ff.close();
    await tap.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function row(result) {
  const [first] = result.sockets;
  const life = first.closed === null ? `open at the end (${DURATION_S} s)` : `**closed at ${first.closed.toFixed(1)} s**`;
  const kind = result.kind === 'event' ? 'event page (MV3 `background.scripts`)' : 'persistent page (MV2 `"persistent": true`)';
  const server = result.pings ? 'answers pings (the reference server)' : 'never answers pings';
  return `| ${kind} | ${server} | ${life} | ${result.sockets.length - 1} | ${result.notified ? 'yes' : '**no**'} |`;
}

const scenarios = [];
for (const kind of ['event', 'persistent']) for (const pings of [true, false]) scenarios.push({ kind, pings });
// QUIZPULSE_BENCH_ONLY=event:unanswered runs one of them.
const only = process.env.QUIZPULSE_BENCH_ONLY?.split(':');
if (only) scenarios.splice(0, scenarios.length, { kind: only[0], pings: only[1] === 'answered' });
const results = await Promise.all(scenarios.map(measure));
console.log(
  [
    '## Firefox: which background holds the socket',
    '',
    `\`node tests/e2e/firefox/bench/background-kind.mjs\` (run by \`cargo xtask bench firefox-background\`): the built Firefox package in headless Firefox ${results[0].version}, as a Manifest V3 event page (its manifest converted back) and as the Manifest V2 persistent page it ships as, signed in through a relay that sees the server's sockets open and close, Quadratics followed, every page of the add-on closed; then ${DURATION_S} s with nothing happening, then one upload on Quadratics. The add-on pings every 20 s; the server either answers (a message on the socket, after which the add-on writes its state, an extension API call) or, as the contract allows, does not (the relay keeps the pings from it). Four runs at once, each its own browser and server; times from the end of the set-up.`,
    '',
    `| background | server | the socket | sockets opened again | the upload at ${results[0].last.toFixed(0)} s notified within 5 s |`,
    '|---|---|---|---:|---|',
    ...results.map(row),
    '',
    ...results.map(
      (r) =>
        `- ${r.kind} page, ${r.pings ? 'pings answered' : 'pings unanswered'}: sockets open ${r.sockets
          .map((k) => `${k.opened.toFixed(1)}–${k.closed === null ? 'end' : k.closed.toFixed(1)} s`)
          .join(', ')}.`,
    ),
  ].join('\n'),
);
