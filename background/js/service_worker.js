// QuizPulse service worker loader (MV3, module worker).
//
// Chrome only wakes a worker for the events whose listeners were registered
// synchronously during the worker's first run, so every listener is added here, at
// top level, before the wasm module has loaded. Events that arrive before it is
// ready are queued and handed to Rust in arrival order. No decisions live here.

import init, { handleEvent, handleMessage, handlePortMessage, workerStart } from './wasm/quizpulse.js';

/** Jobs waiting for the wasm module: { run(), fail(error) }. */
const pending = [];
/** 'loading' | 'ready' | 'failed' */
let state = 'loading';
let loadError = null;

/** Runs a handler; one that throws is logged and never stops the ones queued after it. */
function safely(run) {
  try {
    run();
  } catch (error) {
    console.error('QuizPulse: a background handler failed', error);
  }
}

function whenReady(run, fail = () => {}) {
  if (state === 'ready') {
    safely(run);
  } else if (state === 'failed') {
    fail(loadError);
  } else {
    pending.push({ run, fail });
  }
}

function forwardEvent(kind) {
  return (payload) => whenReady(() => handleEvent(kind, payload ?? null));
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  whenReady(
    () => {
      handleMessage(message, sender).then(sendResponse, (error) => {
        console.error('QuizPulse: a message handler failed', error);
        sendResponse({ type: 'error', message: String(error) });
      });
    },
    (error) => sendResponse({ type: 'error', message: chrome.i18n.getMessage('worker_failed_to_start', [String(error)]) }),
  );
  return true; // the response is sent asynchronously
});
chrome.runtime.onConnect.addListener((port) => {
  // A port's listeners are added at once too, so a message posted right after
  // connecting is queued behind the connect event instead of being lost.
  whenReady(() => handleEvent('connect', port));
  port.onMessage.addListener((message) => whenReady(() => handlePortMessage(port, message)));
  port.onDisconnect.addListener(() => whenReady(() => handleEvent('disconnect', port)));
});
chrome.runtime.onInstalled.addListener(forwardEvent('installed'));
chrome.runtime.onStartup.addListener(forwardEvent('startup'));
chrome.alarms.onAlarm.addListener(forwardEvent('alarm'));
// The notification listeners are also reachable as `self.quizpulseListeners`, so an
// event can be replayed from DevTools (headless browsers cannot click a notification).
const notificationClicked = forwardEvent('notification_clicked');
// Whether the user closed it matters: a notification the system timed out keeps its group.
const notificationClosed = (id, byUser) =>
  whenReady(() => handleEvent('notification_closed', { id, byUser: byUser === true }));
self.quizpulseListeners = Object.freeze({ notificationClicked, notificationClosed });
chrome.notifications.onClicked.addListener(notificationClicked);
chrome.notifications.onClosed.addListener(notificationClosed);
chrome.idle.onStateChanged.addListener(forwardEvent('idle'));
chrome.tabs.onActivated.addListener(forwardEvent('tab_activated'));
chrome.tabs.onUpdated.addListener((tabId, changeInfo, tab) => {
  // Only page loads that finished; `tab.url` is there only for the quiz site (host access).
  if (changeInfo.status === 'complete' && tab?.url) {
    whenReady(() => handleEvent('tab_updated', { tabId, url: tab.url }));
  }
});
chrome.tabs.onRemoved.addListener(forwardEvent('tab_removed'));
chrome.windows.onFocusChanged.addListener((windowId) => {
  if (windowId === chrome.windows.WINDOW_ID_NONE) {
    whenReady(() => handleEvent('tab_activated', null));
  } else {
    // Firefox: `chrome` gives no promises in Manifest V2, `browser` does.
    (globalThis.browser ?? chrome).tabs.query({ active: true, windowId }).then(
      ([tab]) => tab && whenReady(() => handleEvent('tab_activated', { tabId: tab.id })),
      () => {},
    );
  }
});
chrome.permissions.onAdded.addListener(forwardEvent('permissions_added'));
chrome.permissions.onRemoved.addListener(forwardEvent('permissions_removed'));
chrome.storage.onChanged.addListener((changes, area) => {
  // Settings live in the local area; the session area changes with every snapshot.
  if (area === 'local') whenReady(() => handleEvent('storage_changed', { changes, area }));
});
self.addEventListener('online', () => whenReady(() => handleEvent('online', null)));
self.addEventListener('offline', () => whenReady(() => handleEvent('offline', null)));

// One wasm module serves the worker and the pages; the worker's start-up is its own export.
// With it, platform.json: what this browser can do (one per package).
const platform = fetch('platform.json').then((r) => r.json()).catch(() => null);
Promise.all([init({ module_or_path: new URL('./wasm/quizpulse_bg.wasm', import.meta.url) }), platform]).then(
  ([, platform]) => {
    safely(() => workerStart(platform));
    state = 'ready';
    for (const job of pending.splice(0)) safely(job.run);
  },
  (error) => {
    state = 'failed';
    loadError = error;
    console.error('QuizPulse: the background wasm module failed to load', error);
    for (const job of pending.splice(0)) job.fail(error);
  },
);
