// Shared helpers for the QuizPulse end-to-end suite: launch Chromium with the built
// extension, find its id, collect page errors, start the reference server.
//
// Every wait here is bounded: a hung browser or server fails the test, it never
// hangs the run.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The built extension (`cargo xtask dist`). */
export const DIST = path.resolve(process.env.QUIZPULSE_DIST ?? path.join(here, '..', '..', '..', 'dist'));
/** Debian's Chromium; Playwright's own browser download does not work here. */
export const CHROMIUM = process.env.QUIZPULSE_CHROMIUM ?? '/usr/bin/chromium';
/** The reference server binary, when `cargo xtask test` built one. */
export const SERVER_BIN = process.env.QUIZPULSE_SERVER_BIN ?? null;
/** Where screenshots go (git-ignored). */
export const ARTIFACTS = path.join(here, '..', 'artifacts');

/** Rejects after `ms` with a message naming `what`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The manifest of the build under test. */
export async function distManifest(dist = DIST) {
  return JSON.parse(await readFile(path.join(dist, 'manifest.json'), 'utf8'));
}

/** Headless Chromium's flags with the extension in `dist` loaded and nothing else running. */
export function chromiumFlags(dist) {
  return [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    `--disable-extensions-except=${dist}`,
    `--load-extension=${dist}`,
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
}

/**
 * Launches headless Chromium with the extension in `dist` loaded, in a fresh profile
 * (or in `profile`, a directory the caller made and removes: a browser restart with
 * the same profile). Returns { context, extensionId, worker, workerErrors,
 * url(pathname), close() }. `lang` (`es`, `ar`, …) starts the browser in that UI language
 * (`--lang`), which picks the extension's catalog.
 */
export async function launchExtension({ dist = DIST, timeoutMs = 30_000, profile = null, lang = 'en-US' } = {}) {
  const userDataDir = profile ?? (await mkdtemp(path.join(tmpdir(), 'quizpulse-e2e-')));
  const removeProfile = () => (profile ? Promise.resolve() : rm(userDataDir, { recursive: true, force: true }));
  const context = await withTimeout(
    chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: false, // the flags below include --headless=new, exactly as the toolchain notes say
      ignoreDefaultArgs: ['--disable-extensions'],
      args: [...chromiumFlags(dist), `--lang=${lang}`],
      timeout: timeoutMs,
    }),
    timeoutMs + 5_000,
    'launching Chromium',
  );
  try {
    let [worker] = context.serviceWorkers();
    if (!worker) {
      worker = await context.waitForEvent('serviceworker', { timeout: timeoutMs });
    }
    const extensionId = new URL(worker.url()).host;
    // Errors the service worker logs from now on (earlier ones are not visible here).
    const workerErrors = [];
    worker.on('console', (message) => {
      if (message.type() === 'error') workerErrors.push(message.text());
    });
    return {
      context,
      extensionId,
      worker,
      workerErrors,
      url: (pathname) => `chrome-extension://${extensionId}/${pathname.replace(/^\//, '')}`,
      async close() {
        await withTimeout(context.close(), 15_000, 'closing Chromium').catch(() => {});
        await removeProfile();
      },
    };
  } catch (error) {
    await withTimeout(context.close(), 15_000, 'closing Chromium').catch(() => {});
    await removeProfile();
    throw error;
  }
}

/**
 * Collects everything that went wrong on a page: console errors, uncaught
 * exceptions, and failed loads of the extension's own files.
 */
export function collectErrors(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    if (request.url().startsWith('chrome-extension://')) {
      errors.push(`failed to load ${request.url()}: ${request.failure()?.errorText}`);
    }
  });
  return errors;
}

/** Opens an extension page (e.g. 'popup.html') in a new tab of `ext.context`. */
export async function openPage(ext, pathname, { width = 380, height = 460 } = {}) {
  const page = await ext.context.newPage();
  page.setDefaultTimeout(10_000);
  await page.setViewportSize({ width, height });
  const errors = collectErrors(page);
  await page.goto(ext.url(pathname), { timeout: 15_000 });
  return { page, errors };
}

/** Saves a screenshot under tests/e2e/artifacts/ (for people to look at). */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
  return file;
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before listening`);
    const open = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * Starts the reference server (a built binary, `bin`) on a free loopback port with a
 * fresh SQLite database and, by default, the demo data. `args` adds `serve` flags
 * (e.g. ['--access-ttl', '10s']); `port` and `dir` (a database directory from an
 * earlier start, kept by the caller) restart a server where it was. Returns { url,
 * wsUrl, port, dir, db, output(), stop(), kill() }.
 */
export async function startServer({
  bin = SERVER_BIN,
  demo = true,
  timeoutMs = 30_000,
  args: extraArgs = [],
  port: fixedPort = null,
  dir: fixedDir = null,
} = {}) {
  if (!bin) throw new Error('no server binary: set QUIZPULSE_SERVER_BIN (cargo xtask test does)');
  const port = fixedPort ?? (await freePort());
  const dir = fixedDir ?? (await mkdtemp(path.join(tmpdir(), 'quizpulse-server-')));
  const db = `sqlite://${path.join(dir, 'db.sqlite')}`;
  const args = ['serve', '--bind', `127.0.0.1:${port}`, '--db', db, ...extraArgs];
  if (demo) args.push('--demo');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await withTimeout(new Promise((r) => child.once('exit', r)), 5_000, 'stopping the server').catch(() =>
        child.kill('SIGKILL'),
      );
    }
    // A database handed in (a restart) belongs to whoever made it.
    if (!fixedDir) await rm(dir, { recursive: true, force: true });
  };
  /** Kills the process at once (SIGKILL), keeping its database for a restart. */
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await withTimeout(new Promise((r) => child.once('exit', r)), 5_000, 'killing the server').catch(() => {});
    }
  };
  try {
    await waitForPort(port, child, timeoutMs);
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n${log}`);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws/leaderboard/`,
    dir,
    db,
    output: () => log,
    stop,
    kill,
    /** Holds the server's answers back (SIGSTOP): connections stay open, nothing replies. */
    pause: () => child.kill('SIGSTOP'),
    /** Lets a paused server answer again (SIGCONT). */
    resume: () => child.kill('SIGCONT'),
  };
}
