// QuizPulse in each of its four languages: Chromium started with --lang, so that
// chrome.i18n picks the catalog. For English, Spanish, German and Arabic: the popup
// (every tab) and the options page from cached snapshots, light and dark, with
// screenshots and axe-core; no English words left where the language has its own;
// Arabic mirrored (dir="rtl"); the plural forms of each catalog are the browser's
// (Intl.PluralRules); a hostile and an Arabic username stay text in an English and an
// Arabic popup; and one live notification from the real worker and server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seriousViolations } from './lib/a11y.mjs';
import { SERVER_BIN, launchExtension, openPage, screenshot, startServer } from './lib/harness.mjs';
import { LIVE_ARGS, badge, command, notifiedOfBobsUpload, waitFor } from './lib/live.mjs';
import { EVIL, sessionToast, silenceWorkerPort, snapshot, storeSnapshot } from './lib/snapshots.mjs';
import { bobsUploadNotification, catalog, oneUnreadTooltip } from './lib/words.mjs';

/** The languages, with the --lang each browser starts with and the direction expected. */
const LANGUAGES = [
  { lang: 'en', flag: 'en-US', dir: 'ltr' },
  { lang: 'es', flag: 'es', dir: 'ltr' },
  { lang: 'de', flag: 'de', dir: 'ltr' },
  { lang: 'ar', flag: 'ar', dir: 'rtl' },
];

/** No live worker test without the real server (`cargo xtask test` builds it). */
const noServer = SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)';

/** An Arabic username (Layla), for the isolation of right-to-left names. */
const ARABIC_NAME = 'ليلى';

/** The built catalogs, per language. */
const CATALOGS = Object.fromEntries(LANGUAGES.map(({ lang }) => [lang, catalog(lang)]));

/**
 * English that must not show in `lang`: the pieces of every English message between
 * its placeholders (at least two words long) that the language does not share. Words a
 * language keeps (QuizPulse, Live in German) are not English left over.
 */
function englishPieces(lang) {
  const theirs = Object.values(CATALOGS[lang]).join('\n');
  const pieces = new Set();
  for (const message of Object.values(CATALOGS.en)) {
    for (const piece of message.split(/\$[A-Za-z_]+\$/)) {
      const words = piece.trim().replace(/^[^A-Za-z]+|[^A-Za-z]+$/g, '');
      if (/[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(words) && !theirs.includes(words)) pieces.add(words);
    }
  }
  return [...pieces];
}

/** What a page shows or says: its text, and every accessible name and tooltip. */
function everythingSaid(page) {
  return page.evaluate(() => {
    const said = [document.body.innerText, document.title];
    for (const el of document.querySelectorAll('[aria-label], [title], [alt], [placeholder]')) {
      for (const name of ['aria-label', 'title', 'alt', 'placeholder']) {
        if (el.hasAttribute(name)) said.push(el.getAttribute(name));
      }
    }
    return said.join('\n');
  });
}

async function noEnglishLeft(page, lang, what) {
  if (lang === 'en') return;
  const said = await everythingSaid(page);
  const left = englishPieces(lang).filter((piece) => said.includes(piece));
  assert.deepEqual(left, [], `English left in ${what} (${lang})`);
}

async function noSeriousViolations(page, what) {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${what}`);
}

async function mirrored(page, dir) {
  const root = await page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));
  assert.equal(root.dir, dir);
  // The header's mark sits at the page's start: the left edge, or the right one in a
  // right-to-left language; so does the first tab of the popup.
  const [logo, title] = await Promise.all([
    page.locator('.bar__logo').boundingBox(),
    page.locator('.bar__title').boundingBox(),
  ]);
  assert.equal(logo.x > title.x, dir === 'rtl', 'the header mirrors with the language');
  if ((await page.locator('.tab').count()) > 1) {
    const [first, last] = await Promise.all([
      page.locator('.tab').first().boundingBox(),
      page.locator('.tab').last().boundingBox(),
    ]);
    assert.equal(first.x > last.x, dir === 'rtl', 'tabs run in the reading direction');
  }
  return root.lang;
}

/** Opens the popup with `snap` cached, its port to the worker silent, on a fresh UI state. */
async function openPopup(ext, snap, { dark = false } = {}) {
  const { page, errors } = await openPage(ext, 'popup.html', { width: 380, height: 600 });
  await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
  await storeSnapshot(page, snap);
  await page.evaluate(() => localStorage.clear());
  await silenceWorkerPort(page);
  await page.reload();
  return { page, errors };
}

for (const { lang, flag, dir } of LANGUAGES) {
  describe(`in ${lang} (--lang=${flag})`, () => {
    let ext;
    before(async () => {
      ext = await launchExtension({ lang: flag });
    });
    after(async () => {
      await ext?.close();
    });

    test('the catalog and its plural forms are the browser\u2019s', async () => {
      const { page } = await openPage(ext, 'options.html');
      const said = await page.evaluate(() => ({
        lang: chrome.i18n.getMessage('lang'),
        name: chrome.i18n.getMessage('ext_name'),
      }));
      assert.equal(said.lang, lang, 'chrome.i18n picked the catalog of the browser\u2019s language');
      const categories = await page.evaluate((l) => new Intl.PluralRules(l).resolvedOptions().pluralCategories, lang);
      const forms = new Map();
      for (const key of Object.keys(CATALOGS[lang])) {
        const [stem, form] = key.split('__');
        if (form) forms.set(stem, [...(forms.get(stem) ?? []), form]);
      }
      assert.ok(forms.size > 0);
      for (const [stem, theirs] of forms) {
        assert.deepEqual([...theirs].sort(), [...categories].sort(), `${lang}: ${stem}`);
      }
      await page.close();
    });

    for (const dark of [false, true]) {
      const theme = dark ? 'dark' : 'light';

      test(`the popup, every tab (${theme})`, async () => {
        // The toast is the one the worker makes for a new session (the same words as
        // its notification), so that it shows in every screenshot's language.
        const toast = sessionToast('Quadratics', 'bob', 91.5);
        const snap = snapshot({ state: 'retrying', toasts: [toast], toastMs: 120_000 });
        const { page, errors } = await openPopup(ext, snap, { dark });
        await page.locator('.board').first().waitFor();
        assert.equal(await mirrored(page, dir), lang);
        for (const [i, tab] of ['subjects', 'quizzes', 'me'].entries()) {
          await page.locator('.tab').nth(i).click();
          await page.locator(`#panel-${tab}`).waitFor();
          if (tab === 'me') await page.locator('.spark').waitFor();
          else await page.locator(tab === 'subjects' ? '.board' : '.quiz').first().waitFor();
          assert.equal(await page.locator('.tab').nth(i).textContent(), CATALOGS[lang][`tab_${tab}`]);
          await screenshot(page, `i18n-${lang}-popup-${tab}-${theme}.png`);
          await noSeriousViolations(page, `the popup's ${tab} (${lang}, ${theme})`);
          await noEnglishLeft(page, lang, `the popup's ${tab}`);
        }
        // A quiz's board, and the way back.
        await page.locator('.tab').nth(1).click();
        await page.locator('.quiz__open').first().click();
        await page.locator('.detail .board').waitFor();
        assert.equal(await page.locator('.detail .button').first().textContent(), CATALOGS[lang].quiz_back);
        await screenshot(page, `i18n-${lang}-popup-quiz-board-${theme}.png`);
        await noSeriousViolations(page, `a quiz board (${lang}, ${theme})`);
        await noEnglishLeft(page, lang, 'a quiz board');
        assert.deepEqual(errors, []);
        await page.close();
      });

      test(`the options page (${theme})`, async () => {
        const { page, errors } = await openPage(ext, 'options.html', { width: 900, height: 900 });
        await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
        await storeSnapshot(page, snapshot({ failedTest: true }));
        await silenceWorkerPort(page);
        await page.reload();
        await page.locator('#server-url').waitFor();
        await page.locator('.steps').waitFor();
        assert.equal(await mirrored(page, dir), lang);
        assert.equal(await page.title(), CATALOGS[lang].options_title);
        assert.equal(await page.locator('label[for="server-url"]').textContent(), CATALOGS[lang].field_server_url);
        // Quiet hours on: the times as the language writes them.
        await page.locator('#quiet').check();
        await page.getByTestId('quiet-span').filter({ hasText: /\S/ }).waitFor();
        await screenshot(page, `i18n-${lang}-options-${theme}.png`);
        await noSeriousViolations(page, `the options page (${lang}, ${theme})`);
        await noEnglishLeft(page, lang, 'the options page');
        assert.deepEqual(errors, []);
        await page.close();
      });
    }

    test('one notification from the live worker, and the badge\u2019s tooltip', { skip: noServer }, async () => {
      const server = await startServer({ args: LIVE_ARGS });
      try {
        const { page } = await openPage(ext, 'options.html', { width: 900, height: 700 });
        const shown = await notifiedOfBobsUpload(ext, page, server);
        // The catalog's sentence, with the language's own number and the names set
        // apart where the page is right to left.
        const expected = await bobsUploadNotification(page, CATALOGS[lang], lang, dir);
        assert.deepEqual({ title: shown.title, message: shown.message }, expected);
        // The toolbar button's tooltip: live, one unread update, in the language's form for one.
        const tooltip = await oneUnreadTooltip(page, CATALOGS[lang], lang);
        await waitFor(async () => (await badge(page)).title === tooltip, 10_000, `the tooltip ${tooltip}`);
        await command(page, { type: 'sign_out' });
        await page.close();
      } finally {
        await server.stop();
      }
    });

    if (lang === 'en' || lang === 'ar') {
      test('a hostile and an Arabic username are text, in the board, the toasts and the titles', async () => {
        const snap = snapshot({
          evil: true,
          toasts: [sessionToast('Quadratics', EVIL, 50), sessionToast('Quadratics', ARABIC_NAME, 60)],
          toastMs: 60_000,
        });
        // The second player is an Arabic name; the signed-in user too (the Me tab's title).
        const second = snap.subject_boards.data[0].entries[1];
        second.username = ARABIC_NAME;
        snap.my_standing.data.user.username = ARABIC_NAME;
        const { page, errors } = await openPopup(ext, snap);
        let dialogs = 0;
        page.on('dialog', async (dialog) => {
          dialogs += 1;
          await dialog.dismiss();
        });
        const board = page.locator('.board').first();
        await board.locator('.board__name', { hasText: EVIL }).waitFor();
        await board.locator('.board__name', { hasText: ARABIC_NAME }).waitFor();
        assert.equal(await board.locator('.board__name').nth(0).textContent(), EVIL);
        assert.equal(await board.locator('.board__name').nth(1).textContent(), ARABIC_NAME);
        // Names are isolated: a <bdi> of their own.
        assert.equal(await board.locator('bdi.board__name').count(), await board.locator('tbody tr').count());
        await page.getByTestId('toast').filter({ hasText: EVIL }).waitFor();
        await page.getByTestId('toast').filter({ hasText: ARABIC_NAME }).waitFor();
        await page.locator('.tab').nth(2).click();
        const title = page.locator('#me-title');
        await title.waitFor();
        // The name sits in the sentence between isolates (U+2068 … U+2069).
        assert.ok((await title.textContent()).includes(`\u2068${ARABIC_NAME}\u2069`));
        assert.equal(await page.locator('img[src="x"]').count(), 0);
        await page.locator('.tab').nth(0).click();
        await page.waitForTimeout(500);
        assert.equal(dialogs, 0);
        await screenshot(page, `i18n-${lang}-popup-usernames.png`);
        assert.deepEqual(errors, []);
        await page.close();
      });
    }
  });
}
