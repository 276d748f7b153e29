// The page's side of the service worker (sw.js): register it, let the first visit's
// downloads go through it (so they are cached), reload once if that is what makes
// the page cross-origin isolated (hosts without headers, e.g. GitHub Pages), and
// offer a new build when one has been installed in the background.

const RELOAD_KEY = 'browsernet:isolation-reload';
const CONTROL_TIMEOUT_MS = 10000;

/**
 * Resolves once the page may load the model: 'controlled' (downloads are cached),
 * 'unsupported' or 'failed' (they are not, the page still works), or 'reloading'
 * (the page is about to reload; load nothing).
 */
export async function startOffline({ onUpdate } = {}) {
  const sw = navigator.serviceWorker;
  if (!sw || !window.isSecureContext) return 'unsupported';
  const registering = sw.register('sw.js').then((registration) => {
    watchForUpdates(registration, onUpdate);
    return registration;
  });
  registering.catch((err) => console.warn('browsernet: no offline support, the service worker did not register:', err));
  if (!sw.controller) {
    // First visit: wait until the worker controls the page, so the model download
    // goes through it and is cached. A return visit never waits: register() also
    // checks sw.js for a new build, which must not hold up the page.
    try {
      await registering;
    } catch {
      return 'failed';
    }
    if (!sw.controller && !(await controlled(sw))) return 'failed';
  }
  if (!window.crossOriginIsolated && !sessionStorage.getItem(RELOAD_KEY)) {
    // The service worker adds the isolation headers, but only a new navigation gets them.
    sessionStorage.setItem(RELOAD_KEY, '1');
    location.reload();
    return 'reloading';
  }
  return 'controlled';
}

function controlled(sw) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CONTROL_TIMEOUT_MS);
    sw.addEventListener('controllerchange', () => {
      clearTimeout(timer);
      resolve(true);
    }, { once: true });
  });
}

// A new build installs beside the running one and waits. `onUpdate(apply)` lets the
// page offer it; `apply()` activates it and reloads into it.
function watchForUpdates(registration, onUpdate) {
  if (!onUpdate) return;
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;  // first install: nothing to update
    onUpdate(() => {
      navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
      worker.postMessage({ type: 'activate-update' });
    });
  };
  const follow = (worker) => worker?.addEventListener('statechange', () => {
    if (worker.state === 'installed') offer(worker);
  });
  if (registration.waiting) offer(registration.waiting);
  else follow(registration.installing);  // an update already under way when we got here
  registration.addEventListener('updatefound', () => follow(registration.installing));
}
