// The popup in headless Chromium, rendered from cached snapshots (the core's Snapshot
// type, stored in chrome.storage.session as the worker stores it) before the worker's
// port answers: every tab, signed out, retrying, toasts, light and dark, with axe-core;
// usernames stay text; flashes, zoom, keyboard, reopening where the user left.
// The live behaviour (port snapshots from the worker, the real server) is in
// popup-live.test.mjs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seriousViolations } from './lib/a11y.mjs';
import { launchExtension, screenshot } from './lib/harness.mjs';
import { EVIL, openPopup, snapshot, storeSnapshot } from './lib/snapshots.mjs';

async function noSeriousViolations(page, what) {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${what}`);
}

describe('the popup', () => {
  let ext;
  before(async () => {
    ext = await launchExtension();
  });
  after(async () => {
    await ext?.close();
  });

  for (const dark of [false, true]) {
    const theme = dark ? 'dark' : 'light';

    test(`signed out: the sign-in form (${theme})`, async () => {
      const { page, errors } = await openPopup(ext, null, { dark });
      await page.getByLabel('Server URL').waitFor();
      assert.equal(await page.getByLabel('Server URL').inputValue(), 'http://127.0.0.1:8000');
      await page.getByLabel('Username').waitFor();
      await page.getByLabel('Password').waitFor();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.getByRole('status', { name: 'Connection: signed out' }).waitFor();
      await screenshot(page, `popup-signed-out-${theme}.png`);
      await noSeriousViolations(page, `signed out (${theme})`);
      // A bad URL is refused at the field with the core's words, before anything is sent.
      await page.getByLabel('Server URL').fill('quiz.example.org');
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-pass');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Server URL: must start with http:// or https://').waitFor();
      assert.equal(await page.getByLabel('Server URL').getAttribute('aria-invalid'), 'true');
      assert.deepEqual(errors, []);
      await page.close();
    });

    test(`connected: every tab from the cache (${theme})`, async () => {
      const { page, errors } = await openPopup(ext, snapshot(), { dark });
      await page.getByRole('status', { name: 'Connection: connected' }).waitFor();
      await page.getByTestId('cached').waitFor();
      await page.getByTestId('updated').getByText(/^updated \d+ sec\. ago$/).waitFor();
      // Subjects: a board per subject, the user's row marked.
      await page.getByRole('table', { name: 'Mathematics leaderboard' }).waitFor();
      await page.getByRole('table', { name: 'Physics leaderboard' }).waitFor();
      const mine = page.getByRole('table', { name: 'Mathematics leaderboard' }).getByRole('row', { name: /alice/ });
      assert.match(await mine.getAttribute('class'), /board__row--mine/);
      await screenshot(page, `popup-subjects-${theme}.png`);
      await noSeriousViolations(page, `Subjects (${theme})`);

      // Quizzes: a switch per quiz, named for it.
      await page.getByRole('tab', { name: 'Quizzes' }).click();
      assert.equal(await page.getByRole('tab', { name: 'Quizzes' }).getAttribute('aria-selected'), 'true');
      assert.equal(await page.getByRole('checkbox', { name: 'Follow Quadratics' }).isChecked(), true);
      assert.equal(await page.getByRole('checkbox', { name: 'Follow Probability' }).isChecked(), false);
      await screenshot(page, `popup-quizzes-${theme}.png`);
      await noSeriousViolations(page, `Quizzes (${theme})`);

      // A quiz's board, with its subscription's state.
      await page.getByRole('button', { name: /^Quadratics/ }).click();
      await page.getByRole('table', { name: 'Quadratics leaderboard' }).waitFor();
      await page.getByText('Subscription confirmed').waitFor();
      await screenshot(page, `popup-quiz-board-${theme}.png`);
      await noSeriousViolations(page, `quiz board (${theme})`);

      // Me: standing per subject, recent sessions, the sparkline.
      await page.getByRole('tab', { name: 'Me' }).click();
      await page.getByRole('img', { name: /^Recent scores, oldest first: / }).waitFor();
      await page.getByText('Your standing, alice').waitFor();
      await screenshot(page, `popup-me-${theme}.png`);
      await noSeriousViolations(page, `Me (${theme})`);
      assert.deepEqual(errors, []);
      await page.close();
    });

    test(`retrying: the retry count and Retry now (${theme})`, async () => {
      const { page, errors } = await openPopup(ext, snapshot({ state: 'retrying' }), { dark });
      await page.getByRole('status', { name: 'Connection: retrying' }).waitFor();
      await page.getByText(/Connection lost: retry 2 of 5 in \d sec/).waitFor();
      await page.getByRole('button', { name: 'Retry now' }).waitFor();
      await screenshot(page, `popup-retrying-${theme}.png`);
      await noSeriousViolations(page, `retrying (${theme})`);
      assert.deepEqual(errors, []);
      await page.close();
    });

    test(`a toast, announced and gone at its time (${theme})`, async () => {
      // The worker gives toasts 5 s; here more, so that a slow machine still sees it.
      const snap = snapshot({ toasts: ['3 new sessions on Quadratics'], toastMs: 30_000 });
      const { page, errors } = await openPopup(ext, snap, { dark });
      const toast = page.getByTestId('toast').filter({ hasText: '3 new sessions on Quadratics' });
      await toast.waitFor();
      assert.equal(await page.getByTestId('toasts').getAttribute('aria-live'), 'polite');
      await screenshot(page, `popup-toast-${theme}.png`);
      await noSeriousViolations(page, `toast (${theme})`);
      await toast.waitFor({ state: 'detached', timeout: 40_000 });
      assert.ok(Date.now() >= snap.toasts[0].expires_at - 1_000, 'not before its time');
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('a hovered toast stays until the pointer leaves', async () => {
    const snap = snapshot({ toasts: ['Kinematics: bob scored 91'], toastMs: 8_000 });
    const { page } = await openPopup(ext, snap);
    const toast = page.getByTestId('toast').filter({ hasText: 'Kinematics: bob scored 91' });
    await toast.hover();
    // Past the toast's own expiry: it stays while the pointer is on it.
    await page.waitForTimeout(Math.max(0, snap.toasts[0].expires_at - Date.now()) + 1_500);
    assert.equal(await toast.isVisible(), true, 'a hovered toast must stay');
    await page.mouse.move(5, 5);
    await toast.waitFor({ state: 'detached', timeout: 10_000 });
    await page.close();
  });

  test('a hostile username is text in a board and a toast, and no script runs', async () => {
    const { page, errors } = await openPopup(ext, snapshot({ evil: true, toasts: [`New session by ${EVIL}`], toastMs: 60_000 }));
    let dialogs = 0;
    page.on('dialog', async (dialog) => {
      dialogs += 1;
      await dialog.dismiss();
    });
    const board = page.getByRole('table', { name: 'Mathematics leaderboard' });
    await board.getByText(EVIL, { exact: true }).waitFor();
    await page.getByTestId('toast').getByText(`New session by ${EVIL}`, { exact: true }).waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await page.waitForTimeout(500);
    assert.equal(dialogs, 0);
    await screenshot(page, 'popup-hostile-username.png');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the popup reopens on the tab and quiz the user left', async () => {
    const { page } = await openPopup(ext, snapshot());
    await page.getByRole('tab', { name: 'Quizzes' }).click();
    await page.getByRole('button', { name: /^Kinematics/ }).click();
    await page.getByRole('heading', { name: 'Kinematics' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Kinematics' }).waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Quizzes' }).getAttribute('aria-selected'), 'true');
    // Keyboard: arrow keys move between tabs.
    await page.getByRole('tab', { name: 'Quizzes' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Me' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Me');
    await page.close();
  });

  test('rows that changed since the last view flash once, with an arrow for the rank move', async () => {
    const first = snapshot();
    const { page } = await openPopup(ext, first);
    await page.getByRole('table', { name: 'Mathematics leaderboard' }).waitFor();
    assert.equal(await page.locator('.board__row--changed').count(), 0);
    // Bob overtakes carol on the next open.
    const next = snapshot();
    const entries = next.subject_boards.data[0].entries;
    entries[1] = { ...entries[1], rank: 3, username: 'carol', user_id: '3', score: 281.5 };
    entries[2] = { ...entries[2], rank: 2, username: 'bob', user_id: '2', score: 290 };
    await storeSnapshot(page, next);
    await page.reload();
    const board = page.getByRole('table', { name: 'Mathematics leaderboard' });
    await board.getByRole('row', { name: /bob.*up 1|up 1.*bob/ }).waitFor();
    await board.getByRole('row', { name: /carol.*down 1|down 1.*carol/ }).waitFor();
    assert.equal(await board.locator('.board__row--changed').count(), 2);
    await page.close();
  });

  test('a fixed width that never scrolls sideways, also at 200% zoom', async () => {
    const { page } = await openPopup(ext, snapshot({ evil: true }));
    await page.getByRole('table', { name: 'Mathematics leaderboard' }).waitFor();
    // Neither the page nor its scrolling content may scroll sideways.
    const overflow = () =>
      page.evaluate(() =>
        Math.max(
          ...[document.documentElement, document.querySelector('.content')].map((e) => e.scrollWidth - e.clientWidth),
        ),
      );
    assert.ok((await overflow()) <= 0, 'no sideways scroll at 100%');
    // A popup at 200% zoom is the same 380 CSS px drawn twice as large (760 px wide).
    await page.setViewportSize({ width: 760, height: 1200 });
    await page.evaluate(() => {
      document.documentElement.style.zoom = '2';
    });
    for (const tab of ['Subjects', 'Quizzes', 'Me']) {
      await page.getByRole('tab', { name: tab }).click();
      assert.ok((await overflow()) <= 0, `no sideways scroll at 200% on ${tab}`);
    }
    await page.getByRole('tab', { name: 'Subjects' }).click();
    await screenshot(page, 'popup-zoom-200.png');
    await page.close();
  });
});
