// Helpers for the live tests: the worker driving the core against a real server.
// Sign-in goes through the core's `sign_in` command from an extension page (the
// popup's form is tested elsewhere); state is read from the snapshot the worker
// caches in chrome.storage.session.

import { withTimeout } from './harness.mjs';

/** `serve` flags for live tests: a fixed secret (tokens survive a restart), no simulator. */
export const LIVE_ARGS = ['--jwt-secret', 'quizpulse-e2e-secret-0123456789abcdef', '--simulate-every', '0'];

/** A JWT's shape: three base64url parts, the first `eyJ` (`{"`). */
export const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

/** Polls `probe` until it returns a truthy value; fails naming `what` after `ms`. */
export async function waitFor(probe, ms, what, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${describe(last)})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

function describe(value) {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value)?.slice(0, 400);
  } catch {
    return String(value);
  }
}

/** REST call against the server; returns { status, body }. */
export async function rest(server, path, { method = 'GET', token = null, body = null } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== null) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: body === null ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** An access token for a demo user (password `<name>-pass`). */
export async function accessToken(server, user) {
  const { status, body } = await rest(server, '/api/token/', {
    method: 'POST',
    body: { username: user, password: `${user}-pass` },
  });
  if (status !== 200) throw new Error(`sign-in of ${user} failed: ${status} ${describe(body)}`);
  return body.access;
}

/** Uploads a session; returns the answer and when it arrived (Date.now()). */
export async function upload(server, token, quizId, score = 50) {
  const answer = await rest(server, '/api/quiz-sessions/', {
    method: 'POST',
    token,
    body: { quiz_id: quizId, score, duration_s: 60 },
  });
  if (answer.status !== 201) throw new Error(`upload failed: ${answer.status} ${describe(answer.body)}`);
  return { ...answer, at: Date.now() };
}

/** The server's open socket count (its /metrics gauge). */
export async function openSockets(server) {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const match = /^quizpulse_open_sockets (\d+)/m.exec(await response.text());
  if (!match) throw new Error('no quizpulse_open_sockets in /metrics');
  return Number(match[1]);
}

/** Sends a core `Command` from an extension page; resolves with the worker's answer. */
export function command(page, message, ms = 15_000) {
  return withTimeout(
    page.evaluate((m) => chrome.runtime.sendMessage(m), message),
    ms,
    `command ${message.type}`,
  );
}

/** The core's chrome.storage.session key of the cached snapshot (JSON text). */
export const SNAPSHOT_KEY = 'quizpulse.snapshot';

/**
 * The snapshot the worker cached in chrome.storage.session (null before the first).
 * The core writes it at most once a second.
 */
export async function cachedSnapshot(page) {
  const items = await withTimeout(
    page.evaluate((key) => chrome.storage.session.get(key), SNAPSHOT_KEY),
    5_000,
    'reading the cached snapshot',
  );
  const text = items[SNAPSHOT_KEY];
  return typeof text === 'string' ? JSON.parse(text) : null;
}

/** Signs in as `user` on `server` and waits until the snapshot says connected. */
export async function signIn(page, server, user = 'alice') {
  const answer = await command(page, {
    type: 'sign_in',
    server: server.url,
    username: user,
    password: `${user}-pass`,
  });
  if (answer.type !== 'snapshot') throw new Error(`sign_in answered ${describe(answer)}`);
  return waitFor(
    async () => {
      const snap = await cachedSnapshot(page);
      return snap?.connection?.state === 'connected' ? snap : null;
    },
    20_000,
    'the connection after sign-in',
  );
}

/**
 * The connection log of a snapshot, one `time  key(args)` line per entry (the core's
 * typed texts), for failure messages.
 */
export function logLines(snapshot) {
  return (snapshot?.events ?? [])
    .map((e) => `${new Date(e.at).toISOString()}  ${e.text.key}${JSON.stringify(e.text.args ?? [])}`)
    .join('\n');
}

/** Whether a log entry's typed text is `key` (and, given, its first argument is `first`). */
export function said(entry, key, first = undefined) {
  if (entry?.text?.key !== key) return false;
  if (first === undefined) return true;
  const arg = entry.text.args?.[0];
  return arg !== undefined && Object.values(arg)[0] === first;
}

/** The quiz row of a snapshot. */
export function quizRow(snapshot, quizId) {
  return snapshot?.quizzes?.find((row) => String(row.quiz.id) === quizId) ?? null;
}

/** The toolbar badge as the browser shows it (from an extension page). */
export function badge(page) {
  return withTimeout(
    page.evaluate(async () => ({
      text: await chrome.action.getBadgeText({}),
      color: await chrome.action.getBadgeBackgroundColor({}),
      title: await chrome.action.getTitle({}),
    })),
    5_000,
    'reading the badge',
  );
}

/**
 * Records the worker's chrome.notifications calls (create/update/clear, with the
 * time of each) by wrapping them in the worker; read them with `notificationCalls`.
 * Must be installed again after a worker restart.
 */
export async function spyOnNotifications(worker) {
  await withTimeout(
    worker.evaluate(() => {
      if (self.__quizpulseSpy) return;
      const calls = [];
      self.__quizpulseSpy = calls;
      const api = chrome.notifications;
      for (const name of ['create', 'update', 'clear']) {
        const original = api[name].bind(api);
        api[name] = (...args) => {
          const options = typeof args[1] === 'object' ? args[1] : {};
          calls.push({ name, id: args[0], at: Date.now(), title: options.title, message: options.message });
          return original(...args);
        };
      }
    }),
    5_000,
    'installing the notification spy',
  );
}

/** The calls recorded by `spyOnNotifications`. */
export function notificationCalls(worker) {
  return withTimeout(worker.evaluate(() => self.__quizpulseSpy ?? []), 5_000, 'reading the notification spy');
}

/** The worker that is running now (after a restart the old handle is stale). */
export async function runningWorker(ext, ms = 15_000) {
  return waitFor(
    async () => {
      for (const worker of ext.context.serviceWorkers().reverse()) {
        const alive = await withTimeout(worker.evaluate(() => true), 1_000, 'probing a worker').catch(() => false);
        if (alive) return worker;
      }
      return null;
    },
    ms,
    'a running service worker',
  );
}

/**
 * On `page` (an extension page) signs in as alice, follows Quadratics, and has bob
 * upload 91.5 to it; returns the worker's `create` call of its notification.
 */
export async function notifiedOfBobsUpload(ext, page, server) {
  await signIn(page, server, 'alice');
  await spyOnNotifications(ext.worker);
  await command(page, { type: 'follow', quiz_id: 'quadratics' });
  await waitFor(
    async () => quizRow(await cachedSnapshot(page), 'quadratics')?.subscription === 'confirmed',
    15_000,
    'the follow confirmed',
  );
  const bob = await accessToken(server, 'bob');
  await upload(server, bob, 'quadratics', 91.5);
  return waitFor(
    async () => (await notificationCalls(ext.worker)).find((c) => c.name === 'create' && c.id === 'quiz:quadratics'),
    20_000,
    'the notification of bob\u2019s session',
  );
}
