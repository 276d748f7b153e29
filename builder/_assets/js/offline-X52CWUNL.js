// templates/js/offline.js
var RELOAD_MARK = "browsernet:isolation-reload";
var RELOAD_FAILED = "browsernet:isolation-reload-failed";
var CONTROL_TIMEOUT_MS = 1e4;
async function startOffline({ onUpdate } = {}) {
  const sw = navigator.serviceWorker;
  if (!sw || !window.isSecureContext) return "unsupported";
  const registering = sw.register("sw.js").then((registration) => {
    watchForUpdates(registration, onUpdate);
    return registration;
  });
  registering.catch((err) => console.warn("browsernet: no offline support, the service worker did not register:", err));
  let controlled = sw.controller !== null;
  if (!controlled) {
    try {
      controlled = await takeControl(sw, await registering);
    } catch {
      return "failed";
    }
  }
  const reloaded = history.state?.[RELOAD_MARK] === true;
  if (reloaded) history.replaceState({ ...history.state, [RELOAD_MARK]: false }, "");
  if (controlled && window.crossOriginIsolated) return "controlled";
  if (reloaded) sessionStorage.setItem(RELOAD_FAILED, "1");
  else if (!sessionStorage.getItem(RELOAD_FAILED) && (controlled || await hasActiveWorker(registering))) {
    history.replaceState({ ...history.state, [RELOAD_MARK]: true }, "");
    location.reload();
    return "reloading";
  }
  return controlled ? "controlled" : "failed";
}
async function hasActiveWorker(registering) {
  try {
    return (await registering).active !== null;
  } catch {
    return false;
  }
}
function takeControl(sw, registration) {
  return new Promise((resolve) => {
    let timer;
    const settle = (result) => {
      clearTimeout(timer);
      sw.removeEventListener("controllerchange", onControl);
      sw.removeEventListener("message", onMessage);
      resolve(result);
    };
    const onControl = () => settle(true);
    const onMessage = (event) => {
      if (event.data?.type !== "claimed") return;
      if (sw.controller !== null) settle(true);
      else if (!event.data.controlled) settle(false);
    };
    sw.addEventListener("controllerchange", onControl);
    sw.addEventListener("message", onMessage);
    sw.startMessages?.();
    timer = setTimeout(() => settle(false), CONTROL_TIMEOUT_MS);
    if (sw.controller !== null) {
      settle(true);
      return;
    }
    const claim = (worker) => worker.postMessage({ type: "claim" });
    const follow = (worker) => worker?.addEventListener("statechange", () => {
      if (worker.state === "activated") claim(worker);
      else if (worker.state === "redundant" && !registration.active) settle(false);
    });
    const { installing, waiting, active } = registration;
    if (!installing && !waiting && !active) {
      settle(false);
      return;
    }
    follow(installing);
    follow(waiting);
    if (active?.state === "activated") claim(active);
    else follow(active);
  });
}
function watchForUpdates(registration, onUpdate) {
  if (!onUpdate) return;
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;
    onUpdate(() => {
      if (worker.state !== "installed") {
        location.reload();
        return;
      }
      navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
      worker.postMessage({ type: "activate-update" });
    });
  };
  const follow = (worker) => worker?.addEventListener("statechange", () => {
    if (worker.state === "installed") offer(worker);
  });
  if (registration.waiting) offer(registration.waiting);
  else follow(registration.installing);
  registration.addEventListener("updatefound", () => follow(registration.installing));
}
export {
  startOffline
};
