// Snapshots for the popup's cache (chrome.storage.session "snapshot"), built from
// fixtures/snapshot.json: the core's Snapshot type as the worker publishes it (the
// popup crate's unit tests check that this file still deserialises into that type).

import { readFileSync } from 'node:fs';
import { openPage } from './harness.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = JSON.parse(readFileSync(path.join(here, '..', 'fixtures', 'snapshot.json'), 'utf8'));

/** The XSS probe used as a username and in toasts. */
export const EVIL = '<img src=x onerror=alert(1)>';

/** The core's typed text for words from outside, shown as they are (`Text::plain_text`). */
export function plainText(text) {
  return { key: 'plain', args: [{ plain: text }] };
}

/**
 * The toast the worker makes for a new session on a quiz (`toast_alert`): the quiz's
 * title, then "New session: <user> scored <score>".
 */
export function sessionToast(quiz, user, score) {
  return {
    key: 'toast_alert',
    args: [
      { text: plainText(quiz) },
      { text: { key: 'notify_new_session', args: [{ plain: user }, { score: Math.round(score * 10) }] } },
    ],
  };
}

/**
 * A snapshot with its times moved to now. `state`: 'connected' | 'retrying' |
 * 'signed_out' | 'suspended'. `toasts`: live toasts, each the core's typed text (a
 * string is outside words, shown as they are). `evil`: a player named EVIL tops the
 * Mathematics board.
 */
export function snapshot({ state = 'connected', toasts = [], toastMs = 5_000, evil = false, failedTest = false, now = Date.now() } = {}) {
  const snap = structuredClone(FIXTURE);
  const shift = now - snap.generated_at;
  const move = (t) => (t == null ? t : t + shift);
  snap.generated_at = now;
  snap.last_message_at = move(snap.last_message_at);
  snap.last_update = move(snap.last_update);
  snap.account.expires_at = move(snap.account.expires_at);
  for (const q of [snap.subject_boards, snap.quiz_list, snap.my_standing, ...Object.values(snap.quiz_boards)]) {
    q.updated_at = move(q.updated_at);
  }
  for (const e of snap.events) e.at = move(e.at);
  const moveIso = (text) => (text == null ? text : new Date(Date.parse(text) + shift).toISOString());
  for (const b of snap.subject_boards.data) b.updated_at = moveIso(b.updated_at);
  for (const q of Object.values(snap.quiz_boards)) q.data.updated_at = moveIso(q.data.updated_at);
  for (const r of snap.my_standing.data.recent_sessions) r.completed_at = moveIso(r.completed_at);
  switch (state) {
    case 'connected':
      snap.connection = { state: 'connected', since: now - 60_000 };
      break;
    case 'retrying':
      snap.connection = { state: 'retrying', attempt: 2, of: 5, next_at: now + 3_000 };
      break;
    case 'suspended':
      snap.connection = { state: 'suspended', next_at: now + 120_000 };
      break;
    case 'signed_out':
      snap.connection = { state: 'signed_out' };
      snap.account = null;
      break;
    default:
      throw new Error(`unknown state ${state}`);
  }
  snap.toasts = toasts.map((text, i) => ({
    id: 100 + i,
    text: typeof text === 'string' ? plainText(text) : text,
    level: 'info',
    expires_at: now + toastMs,
  }));
  if (evil) {
    const top = snap.subject_boards.data[0].entries[0];
    top.username = EVIL;
    top.user_id = '99';
  }
  if (failedTest) {
    snap.test = [
      {
        check: 'server_url',
        status: 'passed',
        detail: {
          key: 'step_urls',
          args: [{ plain: 'https://quiz.example.org' }, { plain: 'wss://quiz.example.org/ws/leaderboard/' }],
        },
      },
      {
        check: 'host_access',
        status: 'failed',
        detail: { key: 'step_no_access', args: [{ plain: 'https://quiz.example.org/*' }] },
      },
      { check: 'token', status: 'skipped', detail: null },
      { check: 'socket', status: 'skipped', detail: null },
    ];
  }
  return snap;
}

/** The chrome.storage.session key of the cached snapshot (the core's SNAPSHOT_KEY). */
export const SNAPSHOT_KEY = 'quizpulse.snapshot';

/**
 * Stores `snap` as the popup's cached snapshot, as JSON text like the worker does. The
 * live worker writes its own state there too (throttled, so a write may land late):
 * the value is written again until it stays put for a moment.
 */
export async function storeSnapshot(page, snap) {
  const text = JSON.stringify(snap);
  for (let attempt = 0; attempt < 10; attempt++) {
    await page.evaluate(([key, value]) => chrome.storage.session.set({ [key]: value }), [SNAPSHOT_KEY, text]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const kept = await page.evaluate((key) => chrome.storage.session.get(key).then((items) => items[key]), SNAPSHOT_KEY);
    if (kept === text) return;
  }
  throw new Error('the worker kept replacing the cached snapshot');
}

/**
 * Keeps the page's "popup" port and its messages to the worker silent from its next
 * load on: the page sees the moment before the worker answers, when only the cached
 * snapshot is there, and nothing it sends makes the worker publish over that cache.
 * (The live worker replaces a cached snapshot within milliseconds; the live behaviour
 * is tested in popup-live.test.mjs.) Must be called before the page (re)loads.
 */
export async function silenceWorkerPort(page) {
  await page.addInitScript(() => {
    const event = () => ({ addListener() {}, removeListener() {}, hasListener: () => false });
    chrome.runtime.connect = (info) => ({
      name: info?.name ?? '',
      postMessage() {},
      disconnect() {},
      onMessage: event(),
      onDisconnect: event(),
    });
    chrome.runtime.sendMessage = () => new Promise(() => {});
  });
}

/**
 * Opens the popup with `snap` cached (none: signed out) and a fresh UI state (or `ui`),
 * the worker's port kept silent, light or `dark`. Returns { page, errors }.
 */
export async function openPopup(ext, snap, { dark = false, ui = null, height = 600 } = {}) {
  const { page, errors } = await openPage(ext, 'popup.html', { width: 380, height });
  await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
  if (snap) await storeSnapshot(page, snap);
  else await page.evaluate((key) => chrome.storage.session.remove(key), SNAPSHOT_KEY);
  await page.evaluate((state) => {
    localStorage.clear();
    if (state) localStorage.setItem('quizpulse.popup', JSON.stringify(state));
  }, ui);
  await silenceWorkerPort(page);
  await page.reload();
  return { page, errors };
}
