// The page's side of the service worker (sw.js): register it, let the first visit's
// downloads go through it (so they are cached), reload once if that is what makes
// the page controlled and cross-origin isolated (hosts without headers, e.g. GitHub
// Pages; a hard reload, which bypasses the service worker), and offer a new build
// when one has been installed in the background.

// The reload this page asks for is marked on its session-history entry (history.state
// survives the reload; sessionStorage may not, where the reload switches the page's
// browsing context group for COOP). A reload that did not help is remembered for the
// tab: this browser cannot be isolated by the service worker, and will not be reloaded again.
const RELOAD_MARK = 'browsernet:isolation-reload';
const RELOAD_FAILED = 'browsernet:isolation-reload-failed';
// A last resort: an install that fails ends the wait at once (its worker goes
// 'redundant'); this only bounds one that never settles (a precache request that hangs).
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
  let controlled = sw.controller !== null;
  if (!controlled) {
    // First visit: wait until the worker controls the page, so the model download
    // goes through it and is cached. After a hard reload (Shift+Reload), which
    // bypasses an active worker, it is asked to claim the page. A return visit never
    // waits: register() also checks sw.js for a new build, which must not hold up the page.
    try {
      controlled = await takeControl(sw, await registering);
    } catch {
      return 'failed';
    }
  }
  const reloaded = history.state?.[RELOAD_MARK] === true;
  if (reloaded) history.replaceState({ ...history.state, [RELOAD_MARK]: false }, '');
  if (controlled && window.crossOriginIsolated) return 'controlled';
  // Not isolated (the worker adds the isolation headers, but only a new navigation
  // gets them), or a worker that did not claim this page: one reload puts the page
  // behind the worker. Once per page; never again in this tab where it did not help.
  if (reloaded) sessionStorage.setItem(RELOAD_FAILED, '1');
  else if (!sessionStorage.getItem(RELOAD_FAILED) && (controlled || (await hasActiveWorker(registering)))) {
    history.replaceState({ ...history.state, [RELOAD_MARK]: true }, '');
    location.reload();
    return 'reloading';
  }
  return controlled ? 'controlled' : 'failed';
}

async function hasActiveWorker(registering) {
  try {
    return (await registering).active !== null;
  } catch {
    return false;
  }
}

/**
 * Resolves to true once `registration`'s worker controls this page, false as soon as
 * it cannot: its install failed (the worker went 'redundant', e.g. a file of the
 * build is missing), or it is active but this page is not among the clients it
 * could claim.
 */
function takeControl(sw, registration) {
  return new Promise((resolve) => {
    let timer;
    const settle = (result) => {
      clearTimeout(timer);
      sw.removeEventListener('controllerchange', onControl);
      sw.removeEventListener('message', onMessage);
      resolve(result);
    };
    const onControl = () => settle(true);
    // The worker's answer to 'claim': whether it controls this page now (then
    // controllerchange follows, if it has not come already).
    const onMessage = (event) => {
      if (event.data?.type !== 'claimed') return;
      if (sw.controller !== null) settle(true);
      else if (!event.data.controlled) settle(false);
    };
    sw.addEventListener('controllerchange', onControl);
    sw.addEventListener('message', onMessage);
    sw.startMessages?.(); // else the worker's answer may wait for DOMContentLoaded
    timer = setTimeout(() => settle(false), CONTROL_TIMEOUT_MS);
    if (sw.controller !== null) {
      settle(true);
      return;
    }
    const claim = (worker) => worker.postMessage({ type: 'claim' });
    const follow = (worker) => worker?.addEventListener('statechange', () => {
      if (worker.state === 'activated') claim(worker);
      // An install that failed; an update that failed leaves the active worker to claim.
      else if (worker.state === 'redundant' && !registration.active) settle(false);
    });
    const { installing, waiting, active } = registration;
    if (!installing && !waiting && !active) {
      settle(false); // its install failed already
      return;
    }
    follow(installing);
    follow(waiting);
    if (active?.state === 'activated') claim(active);
    else follow(active);
  });
}

// A new build installs beside the running one and waits. `onUpdate(apply)` lets the
// page offer it; `apply()` activates it and reloads into it.
function watchForUpdates(registration, onUpdate) {
  if (!onUpdate) return;
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;  // first install: nothing to update
    onUpdate(() => {
      // Another tab of the site may have applied this update already: the worker is no longer waiting, and the
      // controllerchange it caused here has passed. Reload into it at once, then.
      if (worker.state !== 'installed') {
        location.reload();
        return;
      }
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
