// Live classification from the camera: start/stop, a frame-rate cap, measured fps and latency.

import { cameraErrorMessage, frameDelay, measuredFps } from './pure.js';

const FPS_WINDOW = 8; // frames the measured fps is averaged over

// The display's refresh rate, from requestAnimationFrame: the most the cap may allow.
function displayRate(frames = 20) {
  return new Promise((resolve) => {
    const stamps = [];
    const tick = (t) => {
      stamps.push(t);
      if (stamps.length <= frames) requestAnimationFrame(tick);
      else resolve(Math.max(1, Math.round(measuredFps(stamps))));
    };
    requestAnimationFrame(tick);
  });
}

/**
 * Wires the camera controls. `classify(video)` resolves to `{results}`; `view` is
 * ui.js's view. Returns `{stop()}`.
 */
export function createWebcam(view, classify) {
  const { refs } = view;
  let stream = null;
  let running = false;
  let wake = null; // resolves the pending cap delay early on stop

  const showCap = () => {
    refs.cameraFpsValue.textContent = `${refs.cameraFps.value} fps`;
  };
  refs.cameraFps.addEventListener('input', showCap);
  displayRate().then((hz) => {
    refs.cameraFps.max = String(hz);
    if (Number(refs.cameraFps.value) > hz) refs.cameraFps.value = String(hz);
    showCap();
  });

  const setRunning = (on) => {
    running = on;
    refs.cameraStart.disabled = on;
    refs.cameraStop.disabled = !on;
    refs.cameraView.hidden = !on;
  };

  function stop(message = 'Camera stopped.') {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    refs.cameraVideo.srcObject = null;
    setRunning(false);
    if (wake) wake();
    refs.cameraStatus.textContent = message;
  }

  async function loop() {
    const starts = []; // when recent frames were grabbed: the cap spaces these
    let frames = 0;
    let lastStart = null;
    while (running) {
      // Timers may fire a little early; wait until the cap really allows the next frame.
      for (let delay; running && (delay = frameDelay(lastStart, performance.now(), Number(refs.cameraFps.value))) > 0;) {
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, delay);
        });
        wake = null;
      }
      if (!running) break;
      lastStart = performance.now();
      let reply;
      try {
        reply = await classify(refs.cameraVideo);
      } catch (err) {
        stop(`Live classification stopped: ${err.message}`);
        break;
      }
      if (!running) break;
      const done = performance.now();
      frames += 1;
      starts.push(lastStart);
      if (starts.length > FPS_WINDOW) starts.shift();
      const fps = measuredFps(starts);
      refs.cameraMeasured.textContent = fps === null ? '– fps' : `${fps.toFixed(1)} fps`;
      refs.cameraLatency.textContent = `${Math.round(done - lastStart)} ms`;
      refs.cameraLatency.dataset.ms = String(done - lastStart);
      refs.cameraMeasured.dataset.fps = fps === null ? '' : String(fps);
      refs.cameraMeasured.dataset.frames = String(frames);
      view.setCameraResults(reply.results);
    }
  }

  async function start() {
    refs.cameraStart.disabled = true;
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
      refs.cameraStart.disabled = false;
      refs.cameraStatus.textContent = cameraErrorMessage('NoMediaDevices');
      return;
    }
    refs.cameraStatus.textContent = 'Starting the camera…';
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      refs.cameraVideo.srcObject = stream;
      await refs.cameraVideo.play();
    } catch (err) {
      stop(cameraErrorMessage(err && err.name, err && err.message));
      return;
    }
    setRunning(true);
    refs.cameraStatus.textContent = 'Camera on: classifying live.';
    loop();
  }

  refs.cameraStart.addEventListener('click', start);
  refs.cameraStop.addEventListener('click', () => stop());
  return { stop };
}
