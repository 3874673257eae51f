// The language chosen on the options page, in an English browser: Arabic from the
// options page's list (each language by its own name), then the options page, the
// popup (dir="rtl"), a notification and the badge's tooltip from the live worker are
// Arabic; back to the browser's language, all of them are English again. Screenshots of
// the options page with the list, in English and in Arabic.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SERVER_BIN, launchExtension, openPage, screenshot, startServer } from './lib/harness.mjs';
import { LIVE_ARGS, badge, command, notifiedOfBobsUpload, waitFor } from './lib/live.mjs';
import { openPopup, silenceWorkerPort, snapshot, storeSnapshot } from './lib/snapshots.mjs';
import { bobsUploadNotification, catalog, oneUnreadTooltip } from './lib/words.mjs';

/** No live worker test without the real server (`cargo xtask test` builds it). */
const noServer = SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)';

/** The built catalogs of the two languages seen here. */
const CATALOGS = { en: catalog('en'), ar: catalog('ar') };

/** The list's choices as the options page shows them in `lang`: [value, label]. */
function choices(lang) {
  return [
    ['', CATALOGS[lang].language_default],
    ['en', 'English'],
    ['es', 'Español'],
    ['de', 'Deutsch'],
    ['ar', 'العربية'],
  ];
}

/** `<html lang dir>` of a page, once it is `lang` (the page reloads after a save). */
async function pageIn(page, lang, dir) {
  await page.locator(`html[lang="${lang}"][dir="${dir}"]`).waitFor({ state: 'attached', timeout: 15_000 });
  await page.locator('#language').waitFor();
  return page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));
}

/** Chooses `value` in the options page's list and saves; the page comes back in `lang`. */
async function choose(page, value, lang, dir) {
  await page.locator('#language').selectOption(value);
  await page.locator('button[type="submit"]').click();
  assert.deepEqual(await pageIn(page, lang, dir), { lang, dir });
  assert.equal(await page.locator('#language').inputValue(), value, 'the saved choice is shown');
}

async function listShown(page) {
  return page
    .locator('#language option')
    .evaluateAll((options) => options.map((o) => [o.value, o.textContent]));
}

describe('the language chosen on the options page (an English browser)', () => {
  let ext;
  let server = null;
  before(async () => {
    ext = await launchExtension({ lang: 'en-US' });
  });
  after(async () => {
    await ext?.close();
    await server?.stop();
  });

  test('the options page lists the languages by their own names, and Arabic turns it right to left', async () => {
    const { page, errors } = await openPage(ext, 'options.html', { width: 900, height: 900 });
    assert.deepEqual(await pageIn(page, 'en', 'ltr'), { lang: 'en', dir: 'ltr' });
    assert.equal(await page.locator('#language').inputValue(), '', 'the browser\u2019s language by default');
    assert.deepEqual(await listShown(page), choices('en'));
    assert.equal(await page.locator('label[for="language"]').textContent(), CATALOGS.en.field_language);
    await page.locator('#language').scrollIntoViewIfNeeded();
    await screenshot(page, 'language-options-en.png');

    await choose(page, 'ar', 'ar', 'rtl');
    assert.equal(await page.title(), CATALOGS.ar.options_title);
    assert.equal(await page.locator('label[for="language"]').textContent(), CATALOGS.ar.field_language);
    assert.deepEqual(await listShown(page), choices('ar'));
    assert.equal(await page.locator('label[for="server-url"]').textContent(), CATALOGS.ar.field_server_url);
    await screenshot(page, 'language-options-ar.png');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the popup follows: Arabic, right to left', async () => {
    const { page, errors } = await openPopup(ext, snapshot());
    await page.locator('.board').first().waitFor();
    assert.deepEqual(
      await page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir })),
      { lang: 'ar', dir: 'rtl' },
    );
    assert.equal(await page.locator('.tab').first().textContent(), CATALOGS.ar.tab_subjects);
    await screenshot(page, 'language-popup-ar.png');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a catalog that cannot be fetched leaves the browser\u2019s language, said once', async () => {
    const { page, errors } = await openPage(ext, 'popup.html', { width: 380, height: 600 });
    await storeSnapshot(page, snapshot());
    await page.evaluate(() => localStorage.clear());
    await silenceWorkerPort(page);
    await page.addInitScript(() => {
      const fetch = globalThis.fetch;
      globalThis.fetch = (url, ...rest) =>
        String(url).includes('/_locales/') ? Promise.reject(new TypeError('blocked by the test')) : fetch(url, ...rest);
    });
    const warnings = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await page.reload();
    await page.locator('.board').first().waitFor();
    assert.deepEqual(
      await page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir })),
      { lang: 'en', dir: 'ltr' },
    );
    assert.equal(await page.locator('.tab').first().textContent(), CATALOGS.en.tab_subjects);
    assert.deepEqual(
      warnings.filter((w) => w.includes('catalog')),
      ['QuizPulse: no catalog could be read for ar'],
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the worker follows without a restart: a notification and the tooltip in Arabic', { skip: noServer }, async () => {
    server = await startServer({ args: LIVE_ARGS });
    const { page } = await openPage(ext, 'options.html', { width: 900, height: 700 });
    const shown = await notifiedOfBobsUpload(ext, page, server);
    const expected = await bobsUploadNotification(page, CATALOGS.ar, 'ar', 'rtl');
    assert.deepEqual({ title: shown.title, message: shown.message }, expected);
    const tooltip = await oneUnreadTooltip(page, CATALOGS.ar, 'ar');
    await waitFor(async () => (await badge(page)).title === tooltip, 10_000, `the tooltip ${tooltip}`);
    await page.close();
  });

  test('back to the browser\u2019s language: the options page, the popup and the tooltip are English', async () => {
    const { page, errors } = await openPage(ext, 'options.html', { width: 900, height: 900 });
    assert.deepEqual(await pageIn(page, 'ar', 'rtl'), { lang: 'ar', dir: 'rtl' });
    await choose(page, '', 'en', 'ltr');
    assert.equal(await page.title(), CATALOGS.en.options_title);
    assert.deepEqual(await listShown(page), choices('en'));
    if (server) {
      // The badge did not change, its words did: the worker sets it again.
      const tooltip = await oneUnreadTooltip(page, CATALOGS.en, 'en');
      await waitFor(async () => (await badge(page)).title === tooltip, 10_000, `the tooltip ${tooltip}`);
      await command(page, { type: 'sign_out' });
    }
    assert.deepEqual(errors, []);
    await page.close();

    const popup = await openPopup(ext, snapshot());
    await popup.page.locator('.board').first().waitFor();
    assert.deepEqual(
      await popup.page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir })),
      { lang: 'en', dir: 'ltr' },
    );
    assert.equal(await popup.page.locator('.tab').first().textContent(), CATALOGS.en.tab_subjects);
    assert.deepEqual(popup.errors, []);
    await popup.page.close();
  });
});
