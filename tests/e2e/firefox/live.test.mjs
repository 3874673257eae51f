// The Firefox add-on, live: the built Firefox package (dist-firefox/, its upload zip)
// in headless Firefox ESR against the real server, with a relay in front of the
// server (lib/wiretap.mjs) that records each socket's handshake and what the add-on
// sends on it, so what reaches the server is seen there.
//
// One browser for the whole file, in order: sign-in from the popup, one socket for
// the popup and three quiz tabs, a follow seen at the server, notifications with the
// popup closed (the browser's own alert windows) and a click on one, the server gone
// for 3 s, the add-on reloaded, the options page (keep-on-screen says why it is
// off), screenshots light and dark, a browser restart with the same profile, and
// sign-out.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { By, until } from 'selenium-webdriver';
import {
  clickNotification,
  closeNotifications,
  closeTab,
  colorScheme,
  connection,
  element,
  inChromeAsync,
  launchFirefox,
  screenshot,
  selectedTabUrl,
  shownNotifications,
  elementScreenshot,
} from '../lib/firefox.mjs';
import { SERVER_BIN, startServer } from '../lib/harness.mjs';
import { LIVE_ARGS, accessToken, openSockets, upload, waitFor } from '../lib/live.mjs';
import { startWiretap } from '../lib/wiretap.mjs';

const skip = SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)';
const QUIZ_TABS = ['quadratics', 'probability', 'circuits'];

/** The `quizpulse_sockets_total` counter: every socket the server accepted. */
async function socketsTotal(server) {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const match = /^quizpulse_sockets_total(?:_total)? (\d+)/m.exec(await response.text());
  if (!match) throw new Error('no quizpulse_sockets_total in /metrics');
  return Number(match[1]);
}

describe('the Firefox add-on, live', { skip }, () => {
  let server;
  let tap;
  let ff;
  let profile;
  let bob;

  /** The add-on's sockets the relay saw, and the open ones among them. */
  const open = () => tap.sockets().filter((s) => s.closedAt === null);
  /** `subscribe_quiz` for `quiz` on socket `socket` (any socket when null), after `since`. */
  const subscribed = (quiz, { socket = null, since = 0 } = {}) =>
    tap
      .messages('subscribe_quiz')
      .some((m) => m.quiz_id === quiz && m.at >= since && (socket === null || m.socket === socket));

  async function popup({ dark = false } = {}) {
    await colorScheme(ff.driver, dark);
    return ff.openPage('popup.html');
  }

  /** Waits for a board (a table named by its caption). */
  async function board(driver, name) {
    return driver.wait(until.elementLocated(By.xpath(`//table[caption[normalize-space()="${name}"]]`)), 15_000, name);
  }

  async function noAddonErrors(what) {
    assert.deepEqual(await ff.errors(), [], `errors the add-on logged (${what})`);
  }

  before(async () => {
    server = await startServer({ args: LIVE_ARGS });
    tap = await startWiretap(server);
    bob = await accessToken(server, 'bob');
    profile = await mkdtemp(path.join(tmpdir(), 'quizpulse-firefox-live-'));
    ff = await launchFirefox({ profile });
  });
  after(async () => {
    await ff?.close();
    await tap?.close();
    await server?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('signed out, the popup shows the sign-in form; signing in reaches "Connection: connected"', async () => {
    const { driver } = ff;
    let light;
    for (const dark of [true, false]) {
      const tab = await popup({ dark });
      await connection(driver, 'signed out');
      await element(driver, '[data-testid="signed-out"] #signin-server');
      await elementScreenshot(driver, 'body', `firefox-popup-signed-out-${dark ? 'dark' : 'light'}.png`);
      if (dark) await closeTab(driver, tab);
      else light = tab;
    }
    await driver.switchTo().window(light);
    const server_ = await element(driver, '#signin-server');
    await server_.clear();
    await server_.sendKeys(tap.url);
    await driver.findElement(By.css('#signin-username')).sendKeys('alice');
    await driver.findElement(By.css('#signin-password')).sendKeys('alice-pass');
    await driver.findElement(By.xpath('//button[normalize-space()="Sign in"]')).click();
    await connection(driver, 'connected', 40_000);
    await board(driver, 'Mathematics leaderboard');
    assert.equal(open().length, 1, 'one socket after sign-in');
    await noAddonErrors('sign-in');
  });

  test('one socket at the server with the popup page and three quiz-site tabs open', async () => {
    const { driver } = ff;
    const popupTab = await driver.getWindowHandle();
    const since = Date.now();
    const tabs = [];
    for (const quiz of QUIZ_TABS) {
      await driver.switchTo().newWindow('tab');
      await driver.get(`${tap.url}/quizzes/${quiz}/`);
      tabs.push(await driver.getWindowHandle());
    }
    const [socket] = open();
    await waitFor(
      () => QUIZ_TABS.every((quiz) => subscribed(quiz, { socket: socket.id, since })),
      15_000,
      'the three quiz tabs subscribed on the socket',
    );
    assert.equal(await openSockets(server), 1, 'the server counts one socket');
    assert.equal(open().length, 1);
    // The quiz tabs go; their quizzes are let go at the server.
    for (const tab of tabs) await closeTab(driver, tab);
    await waitFor(
      () => QUIZ_TABS.every((quiz) => tap.messages('unsubscribe_quiz').some((m) => m.quiz_id === quiz && m.at >= since)),
      15_000,
      'the quiz tabs unsubscribed',
    );
    await driver.switchTo().window(popupTab);
    await noAddonErrors('quiz tabs');
  });

  test('following "Quadratics" in the popup is seen at the server', async () => {
    const { driver } = ff;
    const since = Date.now();
    await driver.findElement(By.xpath('//*[@role="tab"][normalize-space()="Quizzes"]')).click();
    const follow = await element(driver, 'input[aria-label="Follow Quadratics"]');
    assert.equal(await follow.isSelected(), false);
    await follow.click();
    await waitFor(() => subscribed('quadratics', { socket: open()[0]?.id, since }), 10_000, 'subscribe_quiz quadratics at the server');
    await driver.findElement(By.xpath('//button[starts-with(normalize-space(), "Quadratics")]')).click();
    await driver.wait(
      async () => (await driver.findElement(By.css('[data-testid="subscription"]')).getText()).includes('Subscription confirmed'),
      15_000,
      'the popup shows the server confirmed it',
    );
    await driver.findElement(By.xpath('//button[normalize-space()="‹ All quizzes"]')).click();
    await driver.findElement(By.xpath('//*[@role="tab"][normalize-space()="Subjects"]')).click();
    await noAddonErrors('follow');
  });

  test('with the popup closed, an upload on followed Quadratics notifies within 5 s; one on unfollowed Kinematics does not', async () => {
    const { driver } = ff;
    await closeTab(driver, await driver.getWindowHandle());
    await closeNotifications(driver);
    await upload(server, bob, 'kinematics', 41);
    const uploaded = await upload(server, bob, 'quadratics', 77);
    const shown = await waitFor(
      async () => {
        const now = await shownNotifications(driver);
        return now.some((n) => n.title === 'Quadratics') ? now : null;
      },
      5_000,
      'a notification for the upload on Quadratics',
      50,
    );
    const within = Date.now() - uploaded.at;
    assert.ok(within <= 5_000, `shown ${within} ms after the upload`);
    assert.match(shown.find((n) => n.title === 'Quadratics').text, /bob/);
    // The unfollowed quiz's upload came first: nothing for it by now, nor a moment later.
    await new Promise((r) => setTimeout(r, 2_000));
    const all = await shownNotifications(driver);
    assert.ok(!all.some((n) => /Kinematics/.test(`${n.title} ${n.text}`)), `no notification for Kinematics: ${JSON.stringify(all)}`);
    await noAddonErrors('notifications');
  });

  test("clicking the notification brings the quiz's open tab forward instead of opening another", async () => {
    const { driver } = ff;
    const opened = [];
    for (const quiz of ['quadratics', 'circuits']) {
      await driver.switchTo().newWindow('tab');
      await driver.get(`${tap.url}/quizzes/${quiz}/`);
      opened.push(await driver.getWindowHandle());
    }
    assert.match(await selectedTabUrl(driver), /\/quizzes\/circuits\/$/);
    const tabs = (await driver.getAllWindowHandles()).length;
    await closeNotifications(driver);
    await upload(server, bob, 'quadratics', 88);
    // Within the core's 10 s between two notifications of one quiz.
    await waitFor(
      async () => (await shownNotifications(driver)).some((n) => n.title === 'Quadratics'),
      15_000,
      'the notification to click',
      50,
    );
    await clickNotification(driver, 'Quadratics');
    await waitFor(async () => /\/quizzes\/quadratics\/$/.test(await selectedTabUrl(driver)), 10_000, "the Quadratics tab selected");
    assert.equal((await driver.getAllWindowHandles()).length, tabs, 'no tab opened');
    for (const tab of opened) await closeTab(driver, tab);
    await noAddonErrors('notification click');
  });

  test('the server gone for 3 s: retrying, then connected again, the subscription re-sent', async () => {
    const { driver } = ff;
    const tab = await popup();
    await connection(driver, 'connected');
    const before = tap.sockets().length;
    const killedAt = Date.now();
    await server.kill();
    await connection(driver, 'retrying', 20_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 3_000 - (Date.now() - killedAt))));
    const restarted = await startServer({ args: LIVE_ARGS, port: server.port, dir: server.dir, demo: false });
    const old = server;
    server = restarted;
    server.stop = ((stop) => async () => {
      await stop();
      await old.stop();
    })(restarted.stop);
    await connection(driver, 'connected', 60_000);
    const fresh = tap.sockets().slice(before).find((s) => s.closedAt === null);
    assert.ok(fresh, 'a new socket after the restart');
    await waitFor(() => subscribed('quadratics', { socket: fresh.id }), 10_000, 'quadratics re-sent on the new socket');
    assert.equal(await openSockets(server), 1);
    await closeTab(driver, tab);
    await noAddonErrors('server restart');
  });

  test('the add-on reloaded (its background page with it): the socket comes back with no click', async () => {
    const { driver } = ff;
    const before = tap.sockets();
    const reloadedAt = Date.now();
    const outcome = await inChromeAsync(
      driver,
      `const [id, done] = arguments;
       const { AddonManager } = ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
       AddonManager.getAddonByID(id).then((addon) => addon.reload()).then(() => done('reloaded'), (e) => done(String(e)));`,
      ff.geckoId,
    );
    assert.equal(outcome, 'reloaded');
    await waitFor(() => before.every((s) => tap.sockets().find((t) => t.id === s.id).closedAt !== null), 15_000, 'the old socket closed');
    const fresh = await waitFor(
      () => tap.sockets().find((s) => s.at >= reloadedAt && s.closedAt === null),
      30_000,
      'a socket from the reloaded background page',
    );
    await waitFor(() => subscribed('quadratics', { socket: fresh.id }), 10_000, 'quadratics re-sent after the reload');
    assert.equal(await openSockets(server), 1);
    await noAddonErrors('reload');
  });

  test('the options page: keep-on-screen is off and says Firefox cannot; screenshots light and dark', async () => {
    const { driver } = ff;
    for (const dark of [false, true]) {
      await colorScheme(driver, dark);
      const tab = await ff.openPage('options.html');
      await element(driver, '[data-testid="account"]');
      const keep = await element(driver, '#keep-on-screen');
      assert.equal(await keep.isEnabled(), false, 'keep-on-screen cannot be switched on');
      const hint = await driver.findElement(By.css('#keep-on-screen-hint')).getText();
      assert.match(hint, /^Not available in Firefox: /);
      const theme = dark ? 'dark' : 'light';
      await screenshot(driver, `firefox-options-${theme}.png`, { fullPage: true });
      await closeTab(driver, tab);
      const popupTab = await ff.openPage('popup.html');
      await connection(driver, 'connected');
      await board(driver, 'Mathematics leaderboard');
      await elementScreenshot(driver, 'body', `firefox-popup-subjects-${theme}.png`);
      await driver.findElement(By.xpath('//*[@role="tab"][normalize-space()="Quizzes"]')).click();
      await element(driver, 'input[aria-label="Follow Quadratics"]');
      await elementScreenshot(driver, 'body', `firefox-popup-quizzes-${theme}.png`);
      await driver.findElement(By.xpath('//*[@role="tab"][normalize-space()="Subjects"]')).click();
      await closeTab(driver, popupTab);
    }
    await colorScheme(driver, false);
    await noAddonErrors('options page');
  });

  test('the follow survives a browser restart with the same profile, without opening the popup', async () => {
    await ff.close();
    const before = tap.sockets().length;
    const restartedAt = Date.now();
    ff = await launchFirefox({ profile, install: false });
    const fresh = await waitFor(
      () => tap.sockets().slice(before).find((s) => s.closedAt === null),
      40_000,
      'a socket from the restarted browser',
    );
    await waitFor(() => subscribed('quadratics', { socket: fresh.id, since: restartedAt }), 15_000, 'quadratics subscribed after the restart');
    assert.equal(await openSockets(server), 1);
    // And it still notifies, with no page of the add-on ever opened.
    await closeNotifications(ff.driver);
    await upload(server, bob, 'quadratics', 64);
    await waitFor(
      async () => (await shownNotifications(ff.driver)).some((n) => n.title === 'Quadratics'),
      5_000,
      'a notification after the restart',
      50,
    );
    await noAddonErrors('restart');
  });

  test('sign out closes the socket, and no handshake follows for 10 s', async () => {
    const { driver } = ff;
    await ff.openPage('options.html');
    await element(driver, '[data-testid="account"]');
    const [socket] = open();
    assert.ok(socket, 'signed in with a socket');
    await driver.findElement(By.xpath('//button[normalize-space()="Sign out"]')).click();
    await waitFor(() => tap.sockets().find((s) => s.id === socket.id).closedAt !== null, 10_000, 'the socket closed');
    const handshakes = tap.sockets().length;
    const accepted = await socketsTotal(server);
    await waitFor(async () => (await openSockets(server)) === 0, 10_000, 'no socket at the server');
    await new Promise((r) => setTimeout(r, 10_000));
    assert.equal(tap.sockets().length, handshakes, 'no handshake in the 10 s after sign-out');
    assert.equal(await socketsTotal(server), accepted, 'the server accepted no socket either');
    await connection(driver, 'signed out');
    await noAddonErrors('sign-out');
  });
});
