// The built catalogs and the sentences the extension is expected to show from them,
// for the language suites (i18n.test.mjs, language.test.mjs).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIST } from './harness.mjs';

/** The built catalog of `lang` (`dist/_locales/<lang>/messages.json`): key → message text. */
export function catalog(lang) {
  const file = path.join(DIST, '_locales', lang, 'messages.json');
  const entries = JSON.parse(readFileSync(file, 'utf8'));
  return Object.fromEntries(Object.entries(entries).map(([key, entry]) => [key, entry.message]));
}

/** Outside text as a `dir`-page sets it apart: first-strong isolates in right-to-left pages. */
export function isolated(text, dir) {
  return dir === 'rtl' ? `\u2068${text}\u2069` : text;
}

/**
 * The notification of bob's 91.5 on Quadratics (see `notifiedOfBobsUpload`) in `lang`:
 * { title, message }, the number as the language writes it (`page` evaluates `Intl`).
 */
export async function bobsUploadNotification(page, words, lang, dir) {
  const score = await page.evaluate((l) => new Intl.NumberFormat(l, { maximumFractionDigits: 1 }).format(91.5), lang);
  return {
    title: isolated('Quadratics', dir),
    message: words.notify_new_session.replace('$USER$', isolated('bob', dir)).replace('$SCORE$', score),
  };
}

/** The toolbar button's tooltip while live with one unread update, in `lang`'s form for one. */
export async function oneUnreadTooltip(page, words, lang) {
  const category = await page.evaluate((l) => new Intl.PluralRules(l).select(1), lang);
  const one = await page.evaluate((l) => new Intl.NumberFormat(l, { maximumFractionDigits: 0 }).format(1), lang);
  return words[`badge_unread__${category}`].replace('$COUNT$', one);
}
