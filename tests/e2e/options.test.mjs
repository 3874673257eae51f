// The options page in headless Chromium: every setting labelled, the core's errors at
// their field, "Test connection" step by step, the connection log copyable; light and
// dark, with axe-core.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seriousViolations } from './lib/a11y.mjs';
import { launchExtension, openPage, screenshot } from './lib/harness.mjs';
import { silenceWorkerPort, snapshot, storeSnapshot } from './lib/snapshots.mjs';

async function openOptions(ext, snap, { dark = false } = {}) {
  const { page, errors } = await openPage(ext, 'options.html', { width: 900, height: 900 });
  await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
  if (snap) await storeSnapshot(page, snap);
  await silenceWorkerPort(page);
  await page.reload();
  await page.getByLabel('Server URL').waitFor();
  return { page, errors };
}

describe('the options page', () => {
  let ext;
  before(async () => {
    ext = await launchExtension();
  });
  after(async () => {
    await ext?.close();
  });

  for (const dark of [false, true]) {
    const theme = dark ? 'dark' : 'light';
    test(`a failed Test connection says which step failed (${theme})`, async () => {
      const { page, errors } = await openOptions(ext, snapshot({ failedTest: true }), { dark });
      const steps = page.getByRole('list', { name: 'Test steps' });
      await steps.getByText('Host access').waitFor();
      assert.match(await steps.getByRole('listitem').nth(0).textContent(), /Server URL: passed/);
      assert.match(await steps.getByRole('listitem').nth(1).textContent(), /Host access: failed.*may not access/);
      assert.match(await steps.getByRole('listitem').nth(2).textContent(), /Sign-in token: skipped/);
      await page.getByRole('button', { name: 'Test connection' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.getByRole('list', { name: 'Connection events, newest first' }).getByText('connected').waitFor();
      await screenshot(page, `options-test-failed-${theme}.png`);
      assert.deepEqual(await seriousViolations(page), [], `axe (${theme})`);
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('every setting is labelled and the core\u2019s errors land at their field', async () => {
    const { page, errors } = await openOptions(ext, snapshot());
    for (const label of [
      'Server URL',
      'Socket URL (optional)',
      'Quiz site URL (optional)',
      'Leaderboard size',
      'Follow new quizzes',
      'Browser notifications',
      'New sessions on followed quizzes',
      'Leaderboard changes on followed quizzes',
      'My rank changes',
      'Subscription confirmations',
      'Connection lost and back',
      'Sign-in problems',
      'Keep on screen until dismissed',
      'Quiet hours',
    ]) {
      await page.getByLabel(label, { exact: true }).waitFor();
    }
    assert.equal(await page.getByLabel('Keep on screen until dismissed').isChecked(), false);
    await page.getByLabel('Socket URL (optional)').fill('http://live.example.org');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('socket-url-error').getByText('Socket URL: must start with ws:// or wss://').waitFor();
    assert.equal(await page.getByLabel('Socket URL (optional)').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Server URL').getAttribute('aria-invalid'), 'false');
    await page.getByLabel('Socket URL (optional)').fill('');
    await page.getByLabel('Quiet hours').check();
    await page.getByLabel('Leaderboard size').fill('500');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('board-limit-error').getByText(/^Leaderboard size: must be from 1 to 100/).waitFor();
    await screenshot(page, 'options-field-error.png');
    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the connection log copies as text', async () => {
    const { page } = await openOptions(ext, snapshot());
    // What the page hands to the clipboard (reading the clipboard back needs a
    // permission an extension origin cannot be granted here).
    await page.evaluate(() => {
      window.__copied = [];
      const write = navigator.clipboard.writeText.bind(navigator.clipboard);
      navigator.clipboard.writeText = (text) => {
        window.__copied.push(text);
        return write(text);
      };
    });
    await page.getByRole('button', { name: 'Copy log' }).click();
    await page.getByText(/^(Copied\.|Could not copy)/).waitFor();
    const copied = await page.evaluate(() => window.__copied);
    assert.equal(copied.length, 1);
    assert.match(copied[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z  connecting to ws:\/\/127\.0\.0\.1:8000\/ws\/leaderboard\/\n.*Z  connected\n$/);
    await page.close();
  });
});
