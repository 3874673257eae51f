// The built extension loads in headless Chromium, its wasm service worker answers
// over chrome.runtime, and the popup and options pages render without errors.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { distManifest, launchExtension, openPage, screenshot, withTimeout } from './lib/harness.mjs';
import { silenceWorkerPort, snapshot, storeSnapshot } from './lib/snapshots.mjs';

describe('the extension', () => {
  let ext;
  let manifest;

  before(async () => {
    manifest = await distManifest();
    ext = await launchExtension();
  });
  after(async () => {
    await ext?.close();
  });

  test('loads as an MV3 extension with a module service worker', async () => {
    assert.match(ext.extensionId, /^[a-p]{32}$/);
    assert.equal(ext.worker.url(), ext.url('service_worker.js'));
    const { page, errors } = await openPage(ext, 'popup.html');
    const loaded = await page.evaluate(() => chrome.runtime.getManifest());
    assert.equal(loaded.manifest_version, 3);
    assert.equal(loaded.version, manifest.version);
    assert.equal(loaded.background.type, 'module');
    assert.deepEqual(loaded.permissions.sort(), ['alarms', 'idle', 'notifications', 'scripting', 'storage']);
    assert.equal(loaded.permissions.includes('tabs'), false);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the wasm service worker answers a ping over chrome.runtime', async () => {
    const { page, errors } = await openPage(ext, 'popup.html');
    const pong = await withTimeout(
      page.evaluate(() => chrome.runtime.sendMessage({ type: 'ping' })),
      10_000,
      'ping',
    );
    assert.deepEqual(pong, { type: 'pong', version: manifest.version });
    const unknown = await withTimeout(
      page.evaluate(() => chrome.runtime.sendMessage({ type: 'no_such_message' })),
      10_000,
      'unknown message',
    );
    assert.equal(unknown.type, 'error');
    assert.match(unknown.message, /unknown message type "no_such_message"/);
    // A command is carried out by the core's client and answered with the state after it.
    const follow = await withTimeout(
      page.evaluate(() => chrome.runtime.sendMessage({ type: 'follow', quiz_id: '1' })),
      10_000,
      'follow',
    );
    assert.equal(follow.type, 'snapshot');
    assert.equal(follow.snapshot.connection.state, 'signed_out');
    await page.evaluate(() => chrome.runtime.sendMessage({ type: 'unfollow', quiz_id: '1' }));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a port gets answers in order, even for messages posted at once', async () => {
    const { page, errors } = await openPage(ext, 'popup.html');
    const answers = await withTimeout(
      page.evaluate(
        () =>
          new Promise((resolve) => {
            const port = chrome.runtime.connect({ name: 'popup' });
            const got = [];
            port.onMessage.addListener((message) => {
              if (message.type === 'snapshot') return; // the state, posted to every popup port
              got.push(message);
              if (got.length === 2) {
                port.disconnect();
                resolve(got);
              }
            });
            port.postMessage({ type: 'ping' });
            port.postMessage({ type: 'nope' });
          }),
      ),
      10_000,
      'port answers',
    );
    assert.deepEqual(answers[0], { type: 'pong', version: manifest.version });
    assert.equal(answers[1].type, 'error');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the popup renders its signed-out first view with no errors', async () => {
    const { page, errors } = await openPage(ext, 'popup.html');
    await page.getByTestId('signed-out').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.bar h1').textContent(), 'QuizPulse');
    await page.getByRole('status', { name: 'Connection: signed out' }).waitFor({ timeout: 10_000 });
    await page.getByText(`background worker ${manifest.version} ready`).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'popup.png');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the popup paints a stored snapshot before the worker answers', async () => {
    const { page, errors } = await openPage(ext, 'popup.html');
    const saved = await page.evaluate(() => chrome.storage.session.get(null));
    await storeSnapshot(page, snapshot({ state: 'connected' }));
    await silenceWorkerPort(page);
    await page.reload();
    await page.getByRole('status', { name: 'Connection: connected' }).waitFor({ timeout: 10_000 });
    assert.equal((await page.getByTestId('connection').textContent()).trim(), 'Live');
    await page.getByTestId('cached').waitFor();
    await page.evaluate((items) => chrome.storage.session.clear().then(() => chrome.storage.session.set(items)), saved);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the options page edits the core's settings under the core's storage key", async () => {
    const KEY = 'quizpulse.settings';
    const { page, errors } = await openPage(ext, 'options.html', { width: 900, height: 700 });
    const fieldShows = (url) =>
      page.waitForFunction((want) => document.querySelector('#server-url')?.value === want, url, { timeout: 5_000 });
    const input = page.getByLabel('Server URL');
    await input.waitFor({ timeout: 10_000 });
    // Nothing stored: the core's defaults are shown.
    await fieldShows('http://127.0.0.1:8000');
    assert.equal(await page.getByTestId('granted-hosts').textContent(), '127.0.0.1, localhost');
    await page.getByTestId('server-access').getByText('access granted').waitFor({ timeout: 5_000 });
    assert.equal(await page.getByTestId('server-access').textContent(), 'Your server: http://127.0.0.1:8000/* access granted');

    // Stored settings are the core's JSON text; fields the page does not edit survive a save.
    await page.evaluate((key) => chrome.storage.local.set({ [key]: JSON.stringify({ server_url: 'http://localhost:8000', board_limit: 25 }) }), KEY);
    await page.reload({ timeout: 10_000 });
    await fieldShows('http://localhost:8000');

    // The core's validation error is shown next to the field, and nothing is saved.
    await input.fill('quiz.example.org');
    await page.getByRole('button', { name: 'Save' }).click();
    const fieldError = page.getByTestId('server-url-error');
    await fieldError.getByText('Server URL: must start with http:// or https://').waitFor({ timeout: 5_000 });
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'options-invalid.png');
    // (The worker applied the settings written above and stored them complete.)
    const kept = JSON.parse((await page.evaluate((key) => chrome.storage.local.get(key), KEY))[KEY]);
    assert.equal(kept.server_url, 'http://localhost:8000');
    assert.equal(kept.board_limit, 25);

    // A valid address is saved normalised, with every other setting kept.
    await input.fill(' HTTPS://Quiz.Example.org/ ');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('save-message').getByText('Saved.').waitFor({ timeout: 5_000 });
    assert.equal(await fieldError.textContent(), '');
    assert.equal(await input.getAttribute('aria-invalid'), 'false');
    const stored = await page.evaluate(() => chrome.storage.local.get(null));
    // The live worker keeps its own keys beside the settings; no sign-in is stored.
    assert.ok(Object.keys(stored).every((k) => k.startsWith('quizpulse.')), Object.keys(stored).join());
    assert.ok(KEY in stored);
    assert.equal(stored['quizpulse.auth'], undefined);
    assert.deepEqual(JSON.parse(stored[KEY]), {
      server_url: 'https://quiz.example.org',
      socket_url: null,
      site_url: null,
      follow_new_quizzes: false,
      board_limit: 25,
      allow_insecure: false,
      notifications: {
        enabled: true,
        new_sessions: true,
        leaderboard_changes: true,
        rank_changes: true,
        subscription_confirmations: true,
        connection: true,
        account: true,
        keep_on_screen: false,
        quiet_hours: null,
      },
      language: null,
    });
    // This build has no access to that server: the page says so.
    await page.getByTestId('server-access').getByText('no access granted yet').waitFor({ timeout: 5_000 });
    assert.match(await page.getByTestId('server-access').textContent(), /https:\/\/quiz\.example\.org\/\*/);

    await page.reload({ timeout: 10_000 });
    await fieldShows('https://quiz.example.org');
    await page.getByTestId('server-access').getByText('no access granted yet').waitFor({ timeout: 5_000 });
    await screenshot(page, 'options.png');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the service worker logged no errors meanwhile', () => {
    assert.deepEqual(ext.workerErrors, []);
  });

  // Last: after a restart, the worker handle Playwright gave us is stale.
  test('messages sent while the worker starts are queued, not lost', async () => {
    // Stop the worker (DevTools protocol), then message it: Chrome starts it again,
    // the loader queues the message until the wasm is ready, and the answer comes.
    const { page, errors } = await openPage(ext, 'popup.html');
    const cdp = await ext.context.newCDPSession(page);
    const statuses = [];
    let versionId = null;
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      for (const version of versions) {
        if (version.scriptURL !== ext.url('service_worker.js')) continue;
        versionId = version.versionId;
        if (statuses.at(-1) !== version.runningStatus) statuses.push(version.runningStatus);
      }
    });
    const until = async (status, what) => {
      const deadline = Date.now() + 10_000;
      while (statuses.at(-1) !== status) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${statuses.join(' -> ')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await withTimeout(cdp.send('ServiceWorker.enable'), 5_000, 'ServiceWorker.enable');
    await until('running', 'the running worker');
    await withTimeout(cdp.send('ServiceWorker.stopWorker', { versionId }), 5_000, 'stopWorker');
    await until('stopped', 'the worker to stop');

    const pong = await withTimeout(
      page.evaluate(() => chrome.runtime.sendMessage({ type: 'ping' })),
      15_000,
      'ping after the worker stopped',
    );
    assert.deepEqual(pong, { type: 'pong', version: manifest.version });
    await until('running', 'the worker to run again');
    assert.deepEqual(statuses.slice(-3), ['stopped', 'starting', 'running']);
    assert.deepEqual(errors, []);
    await cdp.detach();
    await page.close();
  });
});
