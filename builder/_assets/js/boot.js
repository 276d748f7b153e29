// templates/js/boot.js
function fail(err) {
  import("./early-worker.js").then((early) => early.dropEarly(), () => {
  });
  console.error("browsernet: could not load the page script", err);
  document.body.dataset.state = "error";
  const box = document.getElementById("error");
  if (box) box.textContent = `The page's script could not load (${err && err.message ? err.message : err}). Check that the js/ folder was deployed with the site.`;
  const status = document.getElementById("status");
  if (status) status.textContent = "The classifier could not start.";
}
function offerUpdate(apply) {
  const box = document.getElementById("update");
  const button = document.getElementById("update-button");
  if (!box || !button) return;
  box.hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    apply();
  }, { once: true });
}
async function boot() {
  let offline = "failed";
  try {
    const { startOffline } = await import("./offline-X52CWUNL.js");
    offline = await startOffline({ onUpdate: offerUpdate });
  } catch (err) {
    console.warn("browsernet: offline support unavailable:", err);
  }
  if (offline === "reloading") return;
  document.body.dataset.offline = offline;
  await import("./app-HATH4FU2.js");
}
boot().catch(fail);
