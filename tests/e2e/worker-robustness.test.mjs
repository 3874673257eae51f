// The worker against a hostile server (bad frames leave it up, on the same socket)
// and against the real server's auth edges (short-lived tokens, a disabled user).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { SERVER_BIN, launchExtension, openPage, startServer, withTimeout } from './lib/harness.mjs';
import { startHostileServer } from './lib/hostile.mjs';
import {
  LIVE_ARGS,
  cachedSnapshot,
  command,
  logLines,
  notificationCalls,
  openSockets,
  runningWorker,
  said,
  signIn,
  spyOnNotifications,
  waitFor,
} from './lib/live.mjs';

describe('the worker against a hostile server', () => {
  let ext;
  let hostile;
  let page;

  before(async () => {
    hostile = await startHostileServer();
    ext = await launchExtension();
    ({ page } = await openPage(ext, 'options.html', { width: 900, height: 700 }));
  });
  after(async () => {
    await ext?.close();
    await hostile?.close();
  });

  test('malformed JSON, unknown types, a 1 MiB text frame and a binary frame leave it up on the same socket', async () => {
    const connected = await signIn(page, hostile, 'mallory');
    const since = connected.connection.since;
    assert.equal(hostile.connections, 1);
    hostile.sendText('{"type": "quiz_session_uploaded", "data": ');
    hostile.sendText('not json at all');
    hostile.sendText(JSON.stringify({ type: 'no_such_type', data: { x: 1 } }));
    hostile.sendText(JSON.stringify({ type: 'leaderboard_updated', data: 'nonsense' }));
    hostile.sendText(JSON.stringify({ type: 'no_such_type', pad: 'x'.repeat(1024 * 1024) }));
    hostile.sendBinary(new Uint8Array(4096).fill(7));
    hostile.sendText('');
    // Still the same worker and the same socket: a command goes out on it.
    const worker = await runningWorker(ext);
    assert.equal(await withTimeout(worker.evaluate(() => 1 + 1), 5_000, 'the worker answers'), 2);
    await command(page, { type: 'follow', quiz_id: 'q1' });
    await waitFor(
      () => hostile.received.some((text) => text.includes('"subscribe_quiz"') && text.includes('q1')),
      10_000,
      'subscribe_quiz on the same socket',
    );
    // The cached snapshot is written at most once a second: wait for the one after.
    const logged = (s) => s?.events?.some((e) => said(e, 'log_bad_message'));
    let last = null;
    const snap = await waitFor(
      async () => {
        last = await cachedSnapshot(page);
        return logged(last) ? last : null;
      },
      5_000,
      'bad frames in the event log',
    ).catch(() => assert.fail(`bad frames are logged: ${logLines(last)}`));
    assert.equal(snap.connection.state, 'connected');
    assert.equal(snap.connection.since, since);
    assert.equal(hostile.connections, 1);
    assert.equal(hostile.open, 1);
  });

  test('sign out closes the socket with 1000 and no handshake follows for 10 s', async () => {
    await command(page, { type: 'sign_out' });
    await waitFor(() => hostile.closes.length > 0, 5_000, 'a close frame');
    assert.deepEqual(
      hostile.closes.map((c) => c.code),
      [1000],
    );
    const handshakes = hostile.connections;
    await new Promise((r) => setTimeout(r, 10_000));
    assert.equal(hostile.connections, handshakes);
    assert.equal(hostile.open, 0);
  });
});

/** Runs `quizpulse-server user <verb> <name>` against a server's database. */
function userCommand(server, verb, name) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const child = spawn(SERVER_BIN, ['user', verb, name, '--db', server.db], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`user ${verb} exited ${code}`))));
    }),
    15_000,
    `user ${verb}`,
  );
}

describe('the worker and short-lived or refused sign-ins', () => {
  let ext;
  let server;
  let page;

  before(async () => {
    server = await startServer({ args: [...LIVE_ARGS, '--access-ttl', '10s'] });
    ext = await launchExtension();
    ({ page } = await openPage(ext, 'options.html', { width: 900, height: 700 }));
  });
  after(async () => {
    await ext?.close();
    await server?.stop();
  });

  test('with 10 s access tokens it stays connected for two minutes across refreshes, with no 4001 loop', async () => {
    await signIn(page, server, 'alice');
    const closes = [];
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const snap = await cachedSnapshot(page);
      for (const e of snap.events) {
        const closes_ = ['log_closed', 'log_closed_reason', 'log_failed_early', 'log_failed_early_reason'];
        if (closes_.includes(e.text.key)) closes.push(`${e.at}:${e.text.args[0].plain}`);
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const snap = await cachedSnapshot(page);
    assert.equal(snap.connection.state, 'connected');
    const refreshed = snap.events.filter((e) => said(e, 'log_token_refreshed')).length;
    assert.ok(refreshed >= 5, `refreshed ${refreshed} times: ${logLines(snap)}`);
    const unique4001 = new Set(closes.filter((c) => c.endsWith(':4001')));
    assert.ok(unique4001.size <= 1, `4001 closes: ${[...unique4001]}\n${logLines(snap)}`);
    assert.equal(await openSockets(server), 1);
  });

  test('a disabled user is shown auth failed and notified once', async () => {
    const worker = await runningWorker(ext);
    await spyOnNotifications(worker);
    await userCommand(server, 'disable', 'alice');
    const snap = await waitFor(
      async () => {
        const s = await cachedSnapshot(page);
        return s?.connection?.state === 'auth_failed' ? s : null;
      },
      30_000,
      'auth failed',
    );
    assert.match(snap.connection.reason.key, /^auth_/, 'the reason, as the core\u2019s typed text');
    const b = await page.evaluate(() => chrome.action.getBadgeText({}));
    assert.equal(b, '!');
    await new Promise((r) => setTimeout(r, 3_000));
    const shown = (await notificationCalls(worker)).filter((c) => c.name === 'create');
    assert.equal(shown.length, 1, `notified once: ${JSON.stringify(shown)}`);
    await waitFor(async () => (await openSockets(server)) === 0, 10_000, 'no socket while refused');
  });
});
