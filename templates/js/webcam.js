// Live classification from the camera: start/stop, a frame-rate cap, measured fps and latency.
// The timing and the messages are pure functions (exported for the unit tests); only
// createWebcam() touches the DOM.

/** Milliseconds to wait before grabbing the next camera frame under an fps cap. */
export function frameDelay(lastStart, now, fpsCap) {
  if (lastStart === null) return 0;
  return Math.max(0, lastStart + 1000 / fpsCap - now);
}

/** Frames per second over the completion times (ms) of the last frames; null until two exist. */
export function measuredFps(times) {
  if (times.length < 2) return null;
  return ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
}

/** What to tell the visitor when getUserMedia fails, by the DOMException name. */
export function cameraErrorMessage(name, message = '') {
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in your browser to classify live video.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is in use by another application or could not be started.';
    case 'NoMediaDevices':
      return 'This browser offers no camera access here (it needs a secure, https or localhost, connection).';
    default:
      return `The camera could not be started (${name}${message ? `: ${message}` : ''}).`;
  }
}

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
  let session = 0; // which start() the running loop belongs to: a loop of an earlier one ends at its next step
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

  async function loop(mine) {
    const starts = []; // when recent frames were grabbed: the cap spaces these
    let frames = 0;
    let lastStart = null;
    // Stop then Start while a frame is classified: this loop must end, not run beside the new one.
    const current = () => running && session === mine;
    while (current()) {
      // Timers may fire a little early; wait until the cap really allows the next frame.
      for (let delay; current() && (delay = frameDelay(lastStart, performance.now(), Number(refs.cameraFps.value))) > 0;) {
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, delay);
        });
        wake = null;
      }
      if (!current()) break;
      lastStart = performance.now();
      let reply;
      try {
        reply = await classify(refs.cameraVideo);
      } catch (err) {
        if (current()) stop(`Live classification stopped: ${err.message}`);
        break;
      }
      if (!current()) break;
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
    // A camera unplugged, or taken back by the system or another application: its track ends and the video
    // goes black; classifying on would show answers for a picture that is not there.
    const started = stream;
    for (const track of started.getTracks()) {
      track.addEventListener('ended', () => {
        if (stream === started) stop('The camera was disconnected or taken by another application.');
      });
    }
    // The last session's answers and figures are not this one's.
    view.setCameraResults([]);
    refs.cameraMeasured.textContent = '– fps';
    refs.cameraLatency.textContent = '– ms';
    delete refs.cameraMeasured.dataset.fps;
    delete refs.cameraMeasured.dataset.frames;
    delete refs.cameraLatency.dataset.ms;
    setRunning(true);
    refs.cameraStatus.textContent = 'Camera on: classifying live.';
    session += 1;
    loop(session);
  }

  refs.cameraStart.addEventListener('click', start);
  refs.cameraStop.addEventListener('click', () => stop());
  return { stop };
}
