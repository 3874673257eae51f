// The popup and options page driven by the real worker against the real server:
// sign-in from the popup, every tab live (light and dark, axe-core), follow and
// unfollow seen at the server and kept across a browser restart, a live upload on
// an open board (board, "updated", a toast gone after 5 s), a hostile username as
// text, boards at once from a warm cache while the server holds its answers back,
// retrying when the server is gone, and a failed "Test connection".

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { seriousViolations } from './lib/a11y.mjs';
import { SERVER_BIN, launchExtension, openPage, screenshot, startServer } from './lib/harness.mjs';
import { LIVE_ARGS, accessToken, badge, rest, upload, waitFor } from './lib/live.mjs';
import { EVIL } from './lib/snapshots.mjs';

const run = promisify(execFile);
const skip = SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)';

async function popup(ext, { dark = false } = {}) {
  const opened = await openPage(ext, 'popup.html', { width: 380, height: 600 });
  await opened.page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
  return opened;
}

async function clientMessages(server) {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return Number(/^quizpulse_client_messages_total (\d+)/m.exec(await response.text())?.[1] ?? NaN);
}

async function noSeriousViolations(page, what) {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${what}`);
}

describe('the popup, live', { skip }, () => {
  let server;
  let ext;
  let profile;
  let bob;
  let evil;

  before(async () => {
    server = await startServer({ args: LIVE_ARGS });
    await run(SERVER_BIN, ['user', 'add', EVIL, '--db', server.db], {
      env: { ...process.env, QUIZPULSE_PASSWORD: 'evil-pass' },
      timeout: 30_000,
    });
    bob = await accessToken(server, 'bob');
    const { status, body } = await rest(server, '/api/token/', {
      method: 'POST',
      body: { username: EVIL, password: 'evil-pass' },
    });
    assert.equal(status, 200);
    evil = body.access;
    profile = await mkdtemp(path.join(tmpdir(), 'quizpulse-popup-live-'));
    ext = await launchExtension({ profile });
  });
  after(async () => {
    await ext?.close();
    await server?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('sign in from the popup: clear errors, then live', async () => {
    const { page, errors } = await popup(ext);
    await page.getByRole('status', { name: 'Connection: signed out' }).waitFor();
    await screenshot(page, 'live-signed-out.png');
    await noSeriousViolations(page, 'signed out');
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signin-error').getByText(/^Wrong username or password/).waitFor({ timeout: 15_000 });
    await screenshot(page, 'live-sign-in-error.png');
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Password').fill('alice-pass');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('status', { name: 'Connection: connected' }).waitFor({ timeout: 40_000 });
    await page.getByRole('table', { name: 'Mathematics leaderboard' }).waitFor({ timeout: 15_000 });
    await page.getByTestId('toast').getByText('Signed in as alice').waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  for (const dark of [false, true]) {
    const theme = dark ? 'dark' : 'light';
    test(`every tab, live (${theme})`, async () => {
      const { page, errors } = await popup(ext, { dark });
      await page.getByRole('status', { name: 'Connection: connected' }).waitFor({ timeout: 15_000 });
      await page.getByRole('tab', { name: 'Subjects' }).click();
      await page.getByRole('table', { name: 'Physics leaderboard' }).waitFor({ timeout: 15_000 });
      await page.getByTestId('updated').waitFor();
      await screenshot(page, `live-subjects-${theme}.png`);
      await noSeriousViolations(page, `Subjects (${theme})`);
      await page.getByRole('tab', { name: 'Quizzes' }).click();
      await page.getByRole('checkbox', { name: 'Follow Quadratics' }).waitFor({ timeout: 15_000 });
      await screenshot(page, `live-quizzes-${theme}.png`);
      await noSeriousViolations(page, `Quizzes (${theme})`);
      await page.getByRole('tab', { name: 'Me' }).click();
      await page.getByRole('img', { name: /^Recent scores, oldest first: / }).waitFor({ timeout: 15_000 });
      await screenshot(page, `live-me-${theme}.png`);
      await noSeriousViolations(page, `Me (${theme})`);
      await page.getByRole('tab', { name: 'Subjects' }).click();
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('follow and unfollow from the popup reach the server', async () => {
    const { page, errors } = await popup(ext);
    await page.getByRole('tab', { name: 'Quizzes' }).click();
    const quadratics = page.getByRole('checkbox', { name: 'Follow Quadratics' });
    const probability = page.getByRole('checkbox', { name: 'Follow Probability' });
    await quadratics.waitFor({ timeout: 15_000 });
    assert.equal(await quadratics.isChecked(), false);
    await quadratics.check();
    // The server's subscription_confirmed is what the board's line reports.
    await page.getByRole('button', { name: /^Quadratics/ }).click();
    await page.getByTestId('subscription').getByText('Subscription confirmed').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: '‹ All quizzes' }).click();
    await probability.check();
    await waitFor(async () => (await page.getByRole('listitem').filter({ hasText: 'Probability' }).textContent()).includes('following'), 10_000, 'Probability followed');
    const before = await clientMessages(server);
    await probability.uncheck();
    // unsubscribe_quiz has no answer: the server counts the message.
    await waitFor(async () => (await clientMessages(server)) > before, 10_000, 'the unsubscribe at the server');
    assert.equal(await probability.isChecked(), false);
    assert.equal(await quadratics.isChecked(), true);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('an upload on a followed quiz updates the open board, "updated" and a toast that goes after 5 s', async () => {
    const { page, errors } = await popup(ext);
    await page.getByRole('tab', { name: 'Quizzes' }).click();
    await page.getByRole('button', { name: /^Quadratics/ }).click();
    const board = page.getByRole('table', { name: 'Quadratics leaderboard' });
    await board.waitFor({ timeout: 15_000 });
    await page.waitForTimeout(3_000); // let "updated" grow
    await upload(server, bob, 'quadratics', 100);
    await board.getByRole('row', { name: /bob.*100/ }).waitFor({ timeout: 10_000 });
    await page.getByTestId('updated').getByText(/^updated [0-2] sec\. ago$/).waitFor({ timeout: 5_000 });
    const toast = page.getByTestId('toast').filter({ hasText: 'New session: bob scored 100' }).first();
    await toast.waitFor({ timeout: 10_000 });
    const shownAt = Date.now();
    await screenshot(page, 'live-toast.png');
    await noSeriousViolations(page, 'a toast');
    await toast.waitFor({ state: 'detached', timeout: 10_000 });
    assert.ok(Date.now() - shownAt >= 3_000, 'the toast stays a few seconds');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the options page leaves the unread count alone; opening the popup clears it', async () => {
    const seen = await popup(ext);
    await waitFor(async () => (await badge(seen.page)).text === '0', 15_000, 'the badge at 0 with the popup open');
    await seen.page.close();
    // No popup open: an upload on the followed Quadratics is unread news, with an
    // options page open meanwhile.
    const first = await openPage(ext, 'options.html', { width: 800, height: 900 });
    await upload(server, bob, 'quadratics', 61);
    await waitFor(async () => (await badge(first.page)).text !== '0', 15_000, 'the unread badge');
    // Another options page opens on that news.
    const { page, errors } = await openPage(ext, 'options.html', { width: 800, height: 900 });
    await page.getByRole('status', { name: /^Connection: / }).waitFor();
    // A second "options" port from the same page: the worker handles connections in
    // order, so its first snapshot comes after the page's own port was handled.
    const unread = await page.evaluate(() => new Promise((resolve) => {
      const port = chrome.runtime.connect({ name: 'options' });
      port.onMessage.addListener((message) => {
        const text = typeof message === 'string' ? message : JSON.stringify(message);
        const parsed = JSON.parse(text);
        if (parsed.type === 'snapshot') {
          port.disconnect();
          resolve(parsed.snapshot.unread);
        }
      });
    }));
    assert.ok(unread >= 1, `unread after the options page opened: ${unread}`);
    assert.notEqual((await badge(page)).text, '0');
    const { page: shown } = await popup(ext);
    await waitFor(async () => (await badge(page)).text === '0', 15_000, 'the badge cleared by the popup');
    assert.deepEqual([...first.errors, ...errors], []);
    await shown.close();
    await first.page.close();
    await page.close();
  });

  test('a hostile username is text in the board and the toast; no script runs', async () => {
    const { page, errors } = await popup(ext);
    let dialogs = 0;
    page.on('dialog', async (dialog) => {
      dialogs += 1;
      await dialog.dismiss();
    });
    await page.getByRole('heading', { name: 'Quadratics' }).waitFor({ timeout: 15_000 });
    await upload(server, evil, 'quadratics', 101);
    const board = page.getByRole('table', { name: 'Quadratics leaderboard' });
    await board.getByText(EVIL, { exact: true }).waitFor({ timeout: 10_000 });
    await page.getByTestId('toast').filter({ hasText: EVIL }).first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await screenshot(page, 'live-hostile-username.png');
    assert.equal(dialogs, 0);
    assert.deepEqual(errors, []);
    await page.getByRole('button', { name: '‹ All quizzes' }).click();
    await page.getByRole('tab', { name: 'Subjects' }).click();
    await page.close();
  });

  test('with a warm cache and the server holding its answers back, the boards show at once', async () => {
    // Reopen on the Subjects tab (the popup's own localStorage, shared by the extension's pages).
    const { page: setter } = await openPage(ext, 'options.html');
    await setter.evaluate(() => localStorage.setItem('quizpulse.popup', JSON.stringify({ tab: 'subjects' })));
    await setter.close();
    server.pause();
    try {
      const { page, errors } = await popup(ext);
      await page.getByRole('table', { name: 'Mathematics leaderboard' }).waitFor({ timeout: 15_000 });
      assert.ok((await page.getByRole('table', { name: 'Mathematics leaderboard' }).getByRole('row').count()) > 1);
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      server.resume();
    }
  });

  test('server gone: retrying, Retry now; Test connection says which step failed', async () => {
    await server.kill();
    for (const dark of [false, true]) {
      const theme = dark ? 'dark' : 'light';
      const { page, errors } = await popup(ext, { dark });
      await page.getByRole('status', { name: /^Connection: (retrying|offline)$/ }).waitFor({ timeout: 20_000 });
      await page.getByRole('button', { name: 'Retry now' }).waitFor();
      await screenshot(page, `live-retrying-${theme}.png`);
      await noSeriousViolations(page, `retrying (${theme})`);
      assert.deepEqual(errors, []);
      await page.close();

      const options = await openPage(ext, 'options.html', { width: 900, height: 1000 });
      await options.page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
      await options.page.getByRole('button', { name: 'Test connection' }).click();
      const steps = options.page.getByRole('list', { name: 'Test steps' });
      await steps.getByText(/: failed$/).waitFor({ timeout: 30_000 });
      assert.match(await steps.textContent(), /Server URL: passed/);
      await screenshot(options.page, `live-options-test-failed-${theme}.png`);
      assert.deepEqual(await seriousViolations(options.page), [], `axe on options (${theme})`);
      assert.deepEqual(options.errors, []);
      await options.page.close();
    }
    server = await startServer({ args: LIVE_ARGS, port: server.port, dir: server.dir, demo: false });
  });

  test('follows survive a browser restart (same profile, new browser)', async () => {
    await ext.close();
    ext = await launchExtension({ profile });
    const { page, errors } = await popup(ext);
    await page
      .getByRole('status', { name: 'Connection: connected' })
      .waitFor({ timeout: 30_000 })
      .catch(async (error) => {
        const state = await page.getByTestId('connection').getAttribute('aria-label');
        const text = await page.getByTestId('connection').textContent();
        throw new Error(`${error.message}\nshown: ${state}: ${text}\n${server.output().slice(-2000)}`);
      });
    await page.getByRole('tab', { name: 'Quizzes' }).click();
    await page.getByRole('checkbox', { name: 'Follow Quadratics' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByRole('checkbox', { name: 'Follow Quadratics' }).isChecked(), true);
    assert.equal(await page.getByRole('checkbox', { name: 'Follow Probability' }).isChecked(), false);
    // And the server confirms the resubscription after the restart.
    await page.getByRole('button', { name: /^Quadratics/ }).click();
    await page.getByTestId('subscription').getByText('Subscription confirmed').waitFor({ timeout: 15_000 });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
