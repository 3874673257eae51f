// The service worker drives the core for real: one socket for every page, follows,
// notifications, quiz pages, reconnects after the server dies, a stopped worker
// coming back, sign-out. Real headless Chromium, the built dist/, the real server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchExtension, openPage, startServer, withTimeout } from './lib/harness.mjs';
import {
  JWT,
  LIVE_ARGS,
  accessToken,
  badge,
  cachedSnapshot,
  command,
  logLines,
  notificationCalls,
  openSockets,
  quizRow,
  rest,
  runningWorker,
  said,
  signIn,
  spyOnNotifications,
  upload,
  waitFor,
} from './lib/live.mjs';

const A = 'quadratics';
const B = 'kinematics';

describe('the live worker', () => {
  let ext;
  let server;
  let page; // an extension page to send commands from
  let bob; // another user's token, for uploads that notify
  const consoleLines = [];
  const quizTabs = [];

  before(async () => {
    server = await startServer({ args: LIVE_ARGS });
    ext = await launchExtension();
    ext.worker.on('console', (message) => consoleLines.push(message.text()));
    ({ page } = await openPage(ext, 'options.html', { width: 900, height: 700 }));
    page.on('console', (message) => consoleLines.push(message.text()));
    bob = await accessToken(server, 'bob');
  });
  after(async () => {
    await ext?.close();
    await server?.stop();
  });

  test('signed in, with the popup, the options page and three quiz tabs open, the server counts one socket', async () => {
    const snap = await signIn(page, server, 'alice');
    assert.equal(snap.account.username, 'alice');
    const { page: popup } = await openPage(ext, 'popup.html');
    for (const quiz of [A, 'probability', 'circuits']) {
      const tab = await ext.context.newPage();
      await tab.goto(`${server.url}/quizzes/${quiz}/`, { timeout: 15_000 });
      quizTabs.push(tab);
    }
    // The tabs' quizzes are followed through the one socket.
    await waitFor(
      async () => {
        const s = await cachedSnapshot(page);
        return ['probability', 'circuits'].every((q) => quizRow(s, q)?.subscription === 'confirmed');
      },
      15_000,
      'the quiz tabs subscribed',
    );
    assert.equal(await openSockets(server), 1);
    await popup.close();
  });

  test('following A subscribes it and an upload on A notifies within 5 s; on unfollowed B, none', async () => {
    await spyOnNotifications(ext.worker);
    await command(page, { type: 'follow', quiz_id: A });
    await waitFor(
      async () => quizRow(await cachedSnapshot(page), A)?.subscription === 'confirmed',
      10_000,
      'A confirmed',
    );
    const before = (await notificationCalls(ext.worker)).length;
    await upload(server, bob, B, 40);
    const uploaded = await upload(server, bob, A, 77);
    const calls = await waitFor(
      async () => {
        const all = (await notificationCalls(ext.worker)).slice(before);
        return all.some((c) => c.name !== 'clear' && c.message?.includes('bob')) ? all : null;
      },
      5_000,
      'a notification for the upload on A',
    );
    const shown = calls.filter((c) => c.name !== 'clear');
    assert.ok(shown[0].at - uploaded.at < 5_000);
    assert.ok(
      shown.every((c) => /Quadratics/.test(`${c.title} ${c.message}`)),
      `only A notifies: ${JSON.stringify(shown)}`,
    );
  });

  test('20 uploads in a burst on A give at least one and at most 3 notifications', async () => {
    await new Promise((r) => setTimeout(r, 11_000)); // past the coalescing update interval
    const before = (await notificationCalls(ext.worker)).length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => upload(server, bob, A, 10 + i)));
    await new Promise((r) => setTimeout(r, 4_000));
    const shown = (await notificationCalls(ext.worker)).slice(before).filter((c) => c.name !== 'clear');
    assert.ok(shown.length >= 1 && shown.length <= 3, `notifications: ${JSON.stringify(shown)}`);
  });

  test("the worker's click handler focuses A's open page instead of opening another", async () => {
    const ids = await ext.worker.evaluate(() => chrome.notifications.getAll().then(Object.keys));
    assert.ok(ids.length >= 1, 'a notification is shown');
    const id = ids.find((i) => i.includes(A)) ?? ids[0];
    const other = await ext.context.newPage();
    await other.goto(`${server.url}/quizzes/circuits/`);
    await ext.worker.evaluate((nid) => self.quizpulseListeners.notificationClicked(nid), id);
    let all = null;
    const tabs = await waitFor(
      async () => {
        all = await page.evaluate(() => chrome.tabs.query({}));
        const onA = all.filter((t) => t.url?.includes(`/quizzes/${A}`));
        return onA.length === 1 && onA[0].active ? all : null;
      },
      10_000,
      "A's tab active",
    ).catch((error) => {
      throw new Error(`${error.message}; clicked ${id} of ${ids}; tabs ${JSON.stringify(all?.map((t) => [t.url, t.active]))}`);
    });
    assert.equal(tabs.filter((t) => t.url?.includes(`/quizzes/${A}`)).length, 1);
    await other.close();
  });

  test('a tab on /quizzes/B/ subscribes B; closing it unsubscribes B', async () => {
    const tab = await ext.context.newPage();
    await tab.goto(`${server.url}/quizzes/${B}/`);
    await waitFor(
      async () => {
        const row = quizRow(await cachedSnapshot(page), B);
        return row?.open_in_tab && row.subscription === 'confirmed';
      },
      10_000,
      'B subscribed by its tab',
    );
    // A history navigation away drops it too; back brings it back.
    await tab.evaluate(() => history.pushState({}, '', '/quizzes/'));
    await waitFor(async () => quizRow(await cachedSnapshot(page), B)?.subscription === 'none', 10_000, 'B dropped');
    await tab.goBack();
    await waitFor(
      async () => quizRow(await cachedSnapshot(page), B)?.subscription === 'confirmed',
      10_000,
      'B back',
    );
    await tab.close();
    await waitFor(
      async () => {
        const row = quizRow(await cachedSnapshot(page), B);
        return row && !row.open_in_tab && row.subscription === 'none';
      },
      10_000,
      'B unsubscribed after its tab closed',
    );
    // A followed quiz stays subscribed when its tab goes.
    await quizTabs[0].close();
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(quizRow(await cachedSnapshot(page), A)?.subscription, 'confirmed');
  });

  test('killed and restarted three times during uploads, it reconnects, resubscribes, refetches; boards equal the server', async () => {
    const badges = new Set();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const b = await badge(page).catch(() => null);
        if (b) badges.add(`${b.text}|${b.title.split(':')[0]}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    let uploads = 0;
    for (let round = 0; round < 3; round += 1) {
      const since = (await cachedSnapshot(page))?.connection?.since;
      await server.kill();
      const restarted = await startServer({ args: LIVE_ARGS, port: server.port, dir: server.dir });
      const old = server;
      server = restarted;
      server.stop = (
        (stop) => async () => {
          await stop();
          await old.stop();
        }
      )(restarted.stop);
      const token = await accessToken(server, 'bob');
      // Connected again: a new connection, not the cached state from before the kill.
      await waitFor(
        async () => {
          const connection = (await cachedSnapshot(page))?.connection;
          return connection?.state === 'connected' && connection.since !== since;
        },
        40_000,
        `reconnected after restart ${round + 1}`,
        200,
      );
      for (let i = 0; i < 3; i += 1) {
        await upload(server, token, i % 2 ? A : 'linear-equations', 20 + round * 10 + i);
        uploads += 1;
      }
    }
    watching = false;
    await watcher;
    const snap = await waitFor(
      async () => {
        const s = await cachedSnapshot(page);
        return s?.connection?.state === 'connected' && quizRow(s, A)?.subscription === 'confirmed' ? s : null;
      },
      15_000,
      'A resubscribed',
    );
    const opened = snap.events.filter((e) => said(e, 'log_connected')).length;
    const retries = snap.events.filter((e) => said(e, 'log_retry')).length;
    assert.ok(opened >= 4, `opened ${opened} times: ${logLines(snap)}`);
    assert.ok(retries >= 3, `backoff in the event log: ${logLines(snap)}`);
    assert.ok([...badges].some((b) => b.startsWith('…')), `the badge showed reconnecting: ${[...badges]}`);
    assert.equal(await openSockets(server), 1);

    // Boards end equal to the server's REST answers, field by field, `updated_at`
    // included (boards applied from a broadcast keep the upload's server time).
    const token = await accessToken(server, 'alice');
    const limit = snap.settings.board_limit;
    const want = (await rest(server, `/api/leaderboard/subjects/?limit=${limit}`, { token })).body;
    const quizzes = (await rest(server, '/api/quizzes/', { token })).body;
    const boardA = (await rest(server, `/api/quizzes/${A}/leaderboard/?limit=${limit}`, { token })).body;
    let seen = null;
    await waitFor(
      async () => {
        const s = await cachedSnapshot(page);
        const followed = s?.quiz_boards?.[A]?.data;
        seen = { boards: s?.subject_boards?.data, rows: s?.quizzes?.map((r) => r.quiz), followed };
        return JSON.stringify(seen) === JSON.stringify({ boards: want, rows: quizzes, followed: boardA });
      },
      15_000,
      `boards equal to the server's after ${uploads} uploads`,
    ).catch((error) => {
      assert.deepEqual(seen, { boards: want, rows: quizzes, followed: boardA }, error.message);
    });
  });

  test('a worker stopped through the DevTools protocol comes back with its socket and subscriptions on the next alarm', async () => {
    // No quiz page is open (their scripts would wake the worker themselves).
    for (const tab of quizTabs) await tab.close().catch(() => {});
    const cdp = await ext.context.newCDPSession(page);
    await withTimeout(cdp.send('ServiceWorker.enable'), 5_000, 'ServiceWorker.enable');
    await withTimeout(cdp.send('ServiceWorker.stopAllWorkers'), 5_000, 'stopAllWorkers');
    await waitFor(async () => (await openSockets(server)) === 0, 10_000, 'the socket gone with the worker');
    // An alarm wakes the worker (any alarm: the worker's listener is registered at start).
    await page.evaluate(() => chrome.alarms.create('e2e-wake', { when: Date.now() + 100 }));
    await waitFor(async () => (await openSockets(server)) === 1, 20_000, 'the socket back after the alarm');
    await waitFor(
      async () => quizRow(await cachedSnapshot(page), A)?.subscription === 'confirmed',
      15_000,
      'A subscribed again',
    );
    // And again, woken by opening the popup this time.
    await withTimeout(cdp.send('ServiceWorker.stopAllWorkers'), 5_000, 'stopAllWorkers');
    await waitFor(async () => (await openSockets(server)) === 0, 10_000, 'the socket gone with the worker');
    const { page: popup } = await openPage(ext, 'popup.html');
    await waitFor(async () => (await openSockets(server)) === 1, 20_000, 'the socket back after the popup opened');
    await waitFor(
      async () => quizRow(await cachedSnapshot(page), A)?.subscription === 'confirmed',
      15_000,
      'A subscribed again',
    );
    await popup.close();
    await cdp.detach();
    ext.worker = await runningWorker(ext);
    ext.worker.on('console', (message) => consoleLines.push(message.text()));
  });

  test('sign out closes with 1000, no handshake follows for 10 s, no token stays in storage', async () => {
    const before = await rest(server, '/metrics');
    const total = (text) => Number(/^quizpulse_sockets_total (\d+)/m.exec(text)?.[1] ?? NaN);
    const snap = await command(page, { type: 'sign_out' });
    assert.equal(snap.type, 'snapshot');
    assert.equal(snap.snapshot.connection.state, 'signed_out');
    await waitFor(async () => (await openSockets(server)) === 0, 5_000, 'the socket closed');
    const closed = snap.snapshot.events.filter((e) => said(e, 'log_closed_by_us', '1000'));
    assert.ok(closed.length > 0, `closed with 1000: ${logLines(snap.snapshot)}`);
    await new Promise((r) => setTimeout(r, 10_000));
    const afterText = (await rest(server, '/metrics')).body;
    assert.equal(total(afterText), total(before.body), 'no handshake after sign-out');
    const stored = await page.evaluate(async () => ({
      local: await chrome.storage.local.get(null),
      session: await chrome.storage.session.get(null),
    }));
    assert.doesNotMatch(JSON.stringify(stored), JWT);
  });

  test('no token ever appeared in a snapshot, a page message or the console', async () => {
    // Signed in again, a popup port's messages and the cached snapshot carry no token.
    await signIn(page, server, 'alice');
    const messages = await withTimeout(
      page.evaluate(
        () =>
          new Promise((resolve) => {
            const got = [];
            const port = chrome.runtime.connect({ name: 'popup' });
            port.onMessage.addListener((m) => got.push(JSON.stringify(m)));
            port.postMessage({ type: 'ping' });
            setTimeout(() => {
              port.disconnect();
              resolve(got);
            }, 2_000);
          }),
      ),
      10_000,
      'popup port messages',
    );
    assert.ok(messages.some((m) => m.includes('"snapshot"')), 'the popup port got a snapshot');
    for (const m of messages) assert.doesNotMatch(m, JWT);
    assert.doesNotMatch(JSON.stringify(await cachedSnapshot(page)), JWT);
    assert.ok(consoleLines.length > 0, 'the worker and the page logged something');
    for (const line of consoleLines) assert.doesNotMatch(line, JWT);
  });
});
