// The Firefox harness: Debian's Firefox ESR, headless, driven by geckodriver through
// selenium-webdriver, with the built Firefox package (`cargo xtask dist`:
// dist-firefox/quizpulse-<version>.zip) installed in a fresh profile, or in a profile
// kept by the caller (a browser restart with the same profile).
//
// What Firefox does not do through WebDriver, and how this harness does it (see the
// shared toolchain notes, item 8):
// - a tab cannot be navigated to a moz-extension:// page: the page is opened from the
//   chrome context (geckodriver --allow-system-access) with gBrowser.addTab and the
//   system principal, then driven in the content context;
// - the add-on's internal UUID (its moz-extension:// host) is fixed by the pref
//   `extensions.webextensions.uuids`;
// - the package is unsigned: it is installed for good (it must survive a restart), which
//   Firefox ESR allows with `xpinstall.signatures.required` off;
// - notifications: Firefox's alert windows (`alerts.useSystemBackend` off: no desktop
//   notification daemon here) are read from the chrome context, the browser's own list.
//
// Every wait is bounded.

import { openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { ARTIFACTS, withTimeout } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The built Firefox package (`cargo xtask dist`). */
export const DIST_FIREFOX = path.resolve(
  process.env.QUIZPULSE_DIST_FIREFOX ?? path.join(here, '..', '..', '..', 'dist-firefox'),
);
/** Debian's Firefox ESR. */
export const FIREFOX = process.env.QUIZPULSE_FIREFOX ?? '/usr/bin/firefox-esr';
/** geckodriver from crates.io (`cargo xtask setup`). */
export const GECKODRIVER = process.env.QUIZPULSE_GECKODRIVER ?? path.join(homedir(), '.cargo', 'bin', 'geckodriver');
/** The add-on's moz-extension:// host in these tests (any fixed UUID). */
export const ADDON_UUID = '1d0c5b8e-6f1a-4c7e-9a63-0f2e4b7d9c11';

/** The Firefox package's manifest. */
export async function firefoxManifest(dist = DIST_FIREFOX) {
  return JSON.parse(await readFile(path.join(dist, 'manifest.json'), 'utf8'));
}

/** The upload package (what is installed): dist-firefox/quizpulse-<version>.zip. */
export async function firefoxPackage(dist = DIST_FIREFOX) {
  const { version } = await firefoxManifest(dist);
  return path.join(dist, `quizpulse-${version}.zip`);
}

/** Runs `script` (a function body; `arguments[i]` are `args`) in the browser's chrome context. */
export async function inChrome(driver, script, ...args) {
  await driver.setContext('chrome');
  try {
    return await driver.executeScript(script, ...args);
  } finally {
    await driver.setContext('content');
  }
}

/** Like `inChrome`, for a script that calls `arguments[arguments.length - 1]` with its result. */
export async function inChromeAsync(driver, script, ...args) {
  await driver.setContext('chrome');
  try {
    return await driver.executeAsyncScript(script, ...args);
  } finally {
    await driver.setContext('content');
  }
}

/**
 * Launches headless Firefox ESR. With `install` (the default) the built package is
 * installed for good into the profile; `profile` (a directory the caller made and
 * removes) keeps the profile for a restart, `install: false` then finds the add-on
 * already there. `addon` installs another folder or zip instead (`temporary`: removed
 * when the browser closes, as about:debugging's "Load Temporary Add-on"). `prefs` adds
 * preferences. Returns { driver, geckoId, url(pathname), openPage(pathname), log(),
 * errors(), close() }.
 */
export async function launchFirefox({
  dist = DIST_FIREFOX,
  profile = null,
  install = true,
  addon = null,
  temporary = false,
  prefs = {},
  timeoutMs = 60_000,
} = {}) {
  const manifest = await firefoxManifest(addon && !addon.endsWith('.zip') ? addon : dist);
  const geckoId = manifest.browser_specific_settings.gecko.id;
  const profileDir = profile ?? (await mkdtemp(path.join(tmpdir(), 'quizpulse-firefox-')));
  const removeProfile = () => (profile ? Promise.resolve() : rm(profileDir, { recursive: true, force: true }));
  const options = new firefox.Options()
    .setBinary(FIREFOX)
    .addArguments('-headless', '-profile', profileDir)
    .setPreference('extensions.webextensions.uuids', JSON.stringify({ [geckoId]: ADDON_UUID }))
    .setPreference('xpinstall.signatures.required', false)
    // No desktop notification daemon here: Firefox's own alert windows, readable from
    // the chrome context, stay up long enough to be seen.
    .setPreference('alerts.useSystemBackend', false)
    .setPreference('alerts.totalOpenTime', 60_000)
    // Nothing but loopback: no update checks, telemetry or remote settings.
    .setPreference('app.update.enabled', false)
    .setPreference('extensions.update.enabled', false)
    .setPreference('browser.shell.checkDefaultBrowser', false)
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('toolkit.telemetry.enabled', false)
    .setPreference('browser.safebrowsing.malware.enabled', false)
    .setPreference('browser.safebrowsing.phishing.enabled', false)
    .setPreference('network.captive-portal-service.enabled', false)
    .setPreference('network.connectivity-service.enabled', false)
    // Every page's console (the background page's included) on Firefox's stdout, which
    // geckodriver passes on into `logFile`: how the harness sees background errors.
    .setPreference('devtools.console.stdout.content', true);
  for (const [name, value] of Object.entries(prefs)) options.setPreference(name, value);
  const logDir = await mkdtemp(path.join(tmpdir(), 'quizpulse-firefox-log-'));
  const logFile = path.join(logDir, 'firefox.log');
  const logFd = openSync(logFile, 'a');
  const service = new firefox.ServiceBuilder(GECKODRIVER)
    .addArguments('--allow-system-access')
    .setStdio(['ignore', logFd, logFd]);
  const driver = await withTimeout(
    new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build(),
    timeoutMs,
    'launching Firefox',
  );
  const close = async () => {
    await withTimeout(driver.quit(), 30_000, 'closing Firefox').catch(() => {});
    closeSync(logFd);
    await rm(logDir, { recursive: true, force: true });
    await removeProfile();
  };
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  try {
    await driver.manage().setTimeouts({ script: 30_000, pageLoad: 30_000 });
    if (install) {
      await withTimeout(
        driver.installAddon(addon ?? (await firefoxPackage(dist)), temporary),
        timeoutMs,
        'installing the add-on',
      );
    }
    const url = (pathname) => `moz-extension://${ADDON_UUID}/${pathname.replace(/^\//, '')}`;
    return {
      driver,
      geckoId,
      profile: profileDir,
      url,
      openPage: (pathname) => openTab(driver, url(pathname)),
      /** Firefox's and geckodriver's output so far. */
      log,
      /** What the add-on logged as errors so far (its console.error lines, uncaught errors). */
      async errors() {
        return (await log())
          .split('\n')
          .filter((line) => /console\.error: .*QuizPulse|JavaScript error: moz-extension:/.test(line));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Opens `url` in a new tab (from the chrome context: WebDriver may not navigate to
 * moz-extension:// pages) and switches to it once its document has loaded. Returns
 * its window handle.
 */
export async function openTab(driver, url) {
  const before = await driver.getAllWindowHandles();
  await inChrome(
    driver,
    `const tab = gBrowser.addTab(arguments[0], {
       triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal(),
     });
     gBrowser.selectedTab = tab;`,
    url,
  );
  let handle;
  await driver.wait(async () => {
    const now = await driver.getAllWindowHandles();
    handle = now.find((h) => !before.includes(h));
    return Boolean(handle);
  }, 15_000, `a tab for ${url}`);
  await driver.switchTo().window(handle);
  await driver.wait(
    async () => (await driver.executeScript('return document.readyState')) === 'complete',
    15_000,
    `${url} loaded`,
  );
  return handle;
}

/** Closes the tab `handle` and switches to another open one. */
export async function closeTab(driver, handle) {
  await driver.switchTo().window(handle);
  await driver.close();
  const [other] = await driver.getAllWindowHandles();
  if (other) await driver.switchTo().window(other);
}

/** Waits for an element (CSS selector) and returns it. */
export async function element(driver, css, ms = 15_000) {
  return driver.wait(until.elementLocated(By.css(css)), ms, `waiting for ${css}`);
}

/** Waits until the page's connection strip says `state` (its aria-label). */
export async function connection(driver, state, ms = 30_000) {
  return element(driver, `[role="status"][aria-label="Connection: ${state}"]`, ms);
}

/** Runs a WebExtension API call from the current extension page (the `browser` namespace). */
export async function pageCall(driver, script, ...args) {
  return driver.executeAsyncScript(
    `const done = arguments[arguments.length - 1];
     Promise.resolve((async (...args) => { ${script} })(...Array.from(arguments).slice(0, -1)))
       .then((value) => done({ ok: true, value }), (error) => done({ ok: false, error: String(error) }));`,
    ...args,
  ).then((answer) => {
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  });
}

/** `prefers-color-scheme` for every page: dark or light (0 / 1 of Firefox's content override). */
export async function colorScheme(driver, dark) {
  await inChrome(
    driver,
    `Services.prefs.setIntPref('layout.css.prefers-color-scheme.content-override', arguments[0]);`,
    dark ? 0 : 1,
  );
}

/**
 * Saves a PNG of the current tab under tests/e2e/artifacts/ (for people to look at):
 * its viewport, or the whole page with `fullPage`.
 */
export async function screenshot(driver, name, { fullPage = false } = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  const png = fullPage ? await driver.takeFullPageScreenshot() : await driver.takeScreenshot();
  await writeFile(file, Buffer.from(png, 'base64'));
  return file;
}

/** Saves a PNG of one element (CSS selector) of the current tab, e.g. the popup's 380 px body. */
export async function elementScreenshot(driver, css, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  const png = await (await element(driver, css)).takeScreenshot();
  await writeFile(file, Buffer.from(png, 'base64'));
  return file;
}

/**
 * The notifications Firefox shows now: its alert windows (title and text), read in the
 * chrome context.
 */
export async function shownNotifications(driver) {
  return inChrome(
    driver,
    `const shown = [];
     for (const win of Services.wm.getEnumerator('alert:alert')) {
       const doc = win.document;
       shown.push({
         title: doc.getElementById('alertTitleLabel')?.getAttribute('value') ?? '',
         text: doc.getElementById('alertTextLabel')?.textContent ?? '',
       });
     }
     return shown;`,
  );
}

/** Clicks the shown notification titled `title` (its text, as a person would). */
export async function clickNotification(driver, title) {
  const clicked = await inChrome(
    driver,
    `for (const win of Services.wm.getEnumerator('alert:alert')) {
       const doc = win.document;
       if (doc.getElementById('alertTitleLabel')?.getAttribute('value') === arguments[0]) {
         doc.getElementById('alertTextLabel').click();
         return true;
       }
     }
     return false;`,
    title,
  );
  if (!clicked) throw new Error(`no notification titled ${title} to click`);
}

/** The URL of the browser's selected tab. */
export async function selectedTabUrl(driver) {
  return inChrome(driver, 'return gBrowser.selectedBrowser.currentURI.spec;');
}

/** Closes every alert window (so the next one is told apart). */
export async function closeNotifications(driver) {
  await inChrome(driver, `for (const win of Services.wm.getEnumerator('alert:alert')) win.close();`);
}
