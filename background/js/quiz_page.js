// QuizPulse quiz page script (content script, registered at run time for the
// configured quiz site only).
//
// While this tab shows /quizzes/<id>/ it holds a port named "quiz:<id>" to the
// service worker; the worker follows that quiz while the port is open. History
// navigations (pushState, back/forward, the back/forward cache) move or drop the
// port. If the worker restarts, the port breaks and is opened again, so the quiz is
// followed again. No decisions here: the worker and its core decide.
(() => {
  if (globalThis.__quizpulseQuizPage) return; // injected twice into one page
  globalThis.__quizpulseQuizPage = true;

  let port = null;
  let shown = null;

  /** The quiz id a path shows, or null. */
  function quizOf(pathname) {
    const match = /\/quizzes\/([^/]+)\/?$/.exec(pathname);
    if (!match) return null;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return null;
    }
  }

  function drop() {
    const old = port;
    port = null;
    shown = null;
    if (old) old.disconnect();
  }

  function sync() {
    const quiz = quizOf(location.pathname);
    if (quiz === shown && port) return;
    drop();
    if (quiz === null) return;
    let opened;
    try {
      opened = chrome.runtime.connect({ name: `quiz:${quiz}` });
    } catch {
      return; // the extension was reloaded or removed: this page's script is orphaned
    }
    port = opened;
    shown = quiz;
    opened.onDisconnect.addListener(() => {
      if (port !== opened) return;
      // The worker went away (stopped or restarted): hold the quiz again shortly.
      port = null;
      shown = null;
      setTimeout(sync, 1000);
    });
  }

  sync();
  addEventListener('popstate', sync);
  addEventListener('hashchange', sync);
  addEventListener('pageshow', sync);
  addEventListener('pagehide', drop);
  // pushState/replaceState fire no event; the Navigation API reports them where present.
  globalThis.navigation?.addEventListener('navigatesuccess', sync);
})();
