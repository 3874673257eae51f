// Benchmark of the live service worker, run by `cargo xtask bench` (section "worker"):
//
// 1. upload -> notification: from the answer to `POST /api/quiz-sessions/` (as the
//    uploader sees it) to the worker's `chrome.notifications.create`/`update` call for
//    that upload, over 100 uploads. Uploads rotate over three followed quizzes, 4 s
//    apart, so each quiz's notification may be re-issued at once (the core re-issues a
//    coalesced notification at most every 10 s and opens at most 3 new ones a minute);
//    leaderboard-change alerts are switched off so that only upload alerts count.
// 2. the worker's JS heap (after a forced GC, DevTools protocol `Runtime.getHeapUsage`)
//    after 100 and after 10 000 socket messages from the real server.
//
// Prints a Markdown section on stdout. Needs QUIZPULSE_DIST (built extension),
// QUIZPULSE_SERVER_BIN and QUIZPULSE_CHROMIUM, as the e2e suite.

import os from 'node:os';

import { launchExtension, openPage, startServer, withTimeout } from '../lib/harness.mjs';
import { LIVE_ARGS, accessToken, openSockets, quizRow, cachedSnapshot, command, signIn, spyOnNotifications, notificationCalls, upload, waitFor } from '../lib/live.mjs';

const QUIZZES = ['quadratics', 'kinematics', 'circuits'];
const SAMPLES = Number(process.env.QUIZPULSE_BENCH_SAMPLES ?? 100);
const SPACING_MS = 4_000;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** DevTools protocol calls on the extension's service worker (through the browser session). */
async function workerDevtools(context, extensionId) {
  const browser = context.browser();
  if (!browser) throw new Error('no browser handle for a DevTools session');
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find(
    (t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extensionId}/`),
  );
  if (!target) throw new Error('the service worker target was not found');
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  let next = 1;
  const waiting = new Map();
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const entry = waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id);
    if (message.error) entry.reject(new Error(message.error.message));
    else entry.resolve(message.result);
  });
  const send = (method, params = {}) =>
    withTimeout(
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        cdp
          .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
          .catch(reject);
      }),
      30_000,
      method,
    );
  return {
    async heapUsed() {
      await send('HeapProfiler.collectGarbage');
      const { usedSize } = await send('Runtime.getHeapUsage');
      return usedSize;
    },
    detach: () => cdp.detach().catch(() => {}),
  };
}

async function messagesReceived(page) {
  const snap = await cachedSnapshot(page);
  return snap?.last_message_at ?? 0;
}

async function main() {
  // Tokens outlive the run (the latency part alone takes six minutes).
  const server = await startServer({ args: [...LIVE_ARGS, '--access-ttl', '1h'] });
  const ext = await launchExtension();
  try {
    const { page } = await openPage(ext, 'options.html', { width: 900, height: 700 });
    await signIn(page, server, 'alice');
    for (const quiz of QUIZZES) await command(page, { type: 'follow', quiz_id: quiz });
    await waitFor(
      async () => {
        const snap = await cachedSnapshot(page);
        return QUIZZES.every((q) => quizRow(snap, q)?.subscription === 'confirmed');
      },
      15_000,
      'the bench quizzes subscribed',
    );
    const { settings } = await cachedSnapshot(page);
    await command(page, {
      type: 'save_settings',
      settings: { ...settings, notifications: { ...settings.notifications, leaderboard_changes: false } },
    });
    await spyOnNotifications(ext.worker);
    const bob = await accessToken(server, 'bob');

    // 1. upload -> notification
    const loadBefore = os.loadavg()[0].toFixed(1);
    const latencies = [];
    let missed = 0;
    for (let i = 0; i < SAMPLES; i += 1) {
      const started = Date.now();
      const quiz = QUIZZES[i % QUIZZES.length];
      const before = (await notificationCalls(ext.worker)).length;
      const answer = await upload(server, bob, quiz, 30 + (i % 60));
      const call = await waitFor(
        async () =>
          (await notificationCalls(ext.worker))
            .slice(before)
            // The quiz's own notification, created or re-issued: a coalesced update
            // ("3 new sessions on …") does not name the uploader.
            .find((c) => c.name !== 'clear' && c.id === `quiz:${quiz}`),
        5_000,
        `the notification of upload ${i + 1}`,
        2,
      ).catch(() => null);
      if (call) latencies.push(call.at - answer.at);
      else missed += 1;
      const rest = SPACING_MS - (Date.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
    latencies.sort((a, b) => a - b);

    // 2. heap after 100 and after 10 000 socket messages (3 messages per upload:
    // session, subject board, quiz board of a followed quiz).
    const devtools = await workerDevtools(ext.context, ext.extensionId);
    const heap = [];
    heap.push(['after sign-in and the latency run', await devtools.heapUsed()]);
    let sent = 0;
    const uploadMessages = async (target) => {
      while (sent < target) {
        const batch = [];
        for (let k = 0; k < 20 && sent < target; k += 1) {
          batch.push(upload(server, bob, QUIZZES[sent % QUIZZES.length], sent % 100));
          sent += 3;
        }
        await Promise.all(batch);
      }
      // Let the worker drain its queue (the last message's time stops moving).
      let last = -1;
      await waitFor(
        async () => {
          const now = await messagesReceived(page);
          const settled = now === last;
          last = now;
          return settled;
        },
        120_000,
        'the worker to drain',
        1_500,
      );
    };
    await uploadMessages(100);
    heap.push(['after 100 more socket messages', await devtools.heapUsed()]);
    await uploadMessages(10_000);
    heap.push(['after 10 000 socket messages', await devtools.heapUsed()]);
    const sockets = await openSockets(server);
    await devtools.detach();

    const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
    const lines = [];
    lines.push('## Live worker');
    lines.push('');
    lines.push(
      '`cargo xtask bench` (`node tests/e2e/bench/worker.mjs`): the built extension in headless Chromium, ' +
        'signed in to the reference server (debug build, as in the e2e suite) on loopback (SQLite, `--simulate-every 0`), ' +
        'three followed quizzes, uploads by another user 4 s apart in rotation, leaderboard-change alerts off.',
    );
    lines.push('');
    lines.push(
      `Upload → notification, from the \`POST /api/quiz-sessions/\` answer to the worker's ` +
        `\`chrome.notifications.create\`/\`update\` call, ${latencies.length} uploads` +
        (missed ? ` (${missed} gave no notification within 5 s)` : '') +
        ':',
    );
    lines.push('');
    lines.push('| p50 | p99 | max |');
    lines.push('|---:|---:|---:|');
    lines.push(
      `| ${percentile(latencies, 50)} ms | ${percentile(latencies, 99)} ms | ${latencies.at(-1)} ms |`,
    );
    lines.push('');
    lines.push(
      'A negative time means the worker had raised the notification before the uploader read its answer. ' +
        `The machine's load average (1 min) was ${loadBefore} before the run and ${os.loadavg()[0].toFixed(1)} after it: ` +
        'other work on the machine shows in the tail.',
    );
    lines.push('');
    lines.push('The worker\'s JS heap after a forced GC (`Runtime.getHeapUsage`):');
    lines.push('');
    lines.push('| moment | used heap |');
    lines.push('|---|---:|');
    for (const [moment, bytes] of heap) lines.push(`| ${moment} | ${kb(bytes)} |`);
    lines.push('');
    lines.push(
      `Growth from 100 to 10 000 messages: ${((heap[2][1] / heap[1][1] - 1) * 100).toFixed(1)} %; ` +
        `sockets open at the end: ${sockets}.`,
    );
    console.log(lines.join('\n'));
  } finally {
    await ext.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
