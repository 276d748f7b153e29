"""Live classification from the camera, with Chromium's fake camera; and a camera that is denied or absent."""

from __future__ import annotations

import pytest

FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


def _ready(page):
    assert page.ready() == "ready", page.page.text_content("#error")
    return page


def test_camera_classifies_live_within_the_frame_rate_cap(served, open_page, browser_with):
    page = _ready(open_page(f"{served}keras/?backend=wasm", on=browser_with(*FAKE_CAMERA)))
    p = page.page
    assert p.locator("#camera-stop").is_disabled() and p.locator("#camera-view").is_hidden()
    assert p.input_value("#camera-fps") == "2" and p.text_content("#camera-fps-value") == "2 fps"
    p.click("#camera-start")
    p.wait_for_function("() => document.querySelectorAll('#camera-results .prediction').length === 5")
    assert p.locator("#camera-video").is_visible() and p.locator("#camera-start").is_disabled()
    labels = p.locator("#camera-results .prediction-label").all_text_contents()
    assert set(labels) <= set(p.evaluate("window.browsernet.labels"))
    # Measured figures are shown, and the fps honours the 2 fps cap.
    p.wait_for_function("() => document.querySelector('#camera-fps-measured').dataset.frames >= 4")
    fps = float(p.get_attribute("#camera-fps-measured", "data-fps"))
    assert 0 < fps <= 2.0 + 1e-6, fps  # frames are started at most every 500 ms
    assert p.text_content("#camera-fps-measured") == f"{fps:.1f} fps"
    assert float(p.get_attribute("#camera-latency", "data-ms")) > 0
    assert p.text_content("#camera-latency").endswith(" ms")
    # The cap goes up to the display's rate, no further.
    top = int(p.get_attribute("#camera-fps", "max"))
    assert top >= 2
    p.fill("#camera-fps", str(top + 50))
    assert int(p.input_value("#camera-fps")) == top
    p.click("#camera-stop")
    assert p.text_content("#camera-status") == "Camera stopped."
    assert p.locator("#camera-view").is_hidden() and p.locator("#camera-start").is_enabled()
    assert p.evaluate("document.querySelector('#camera-video').srcObject") is None
    assert page.foreign_requests(served) == [] and page.csp_violations() == []


def test_a_camera_that_cuts_out_stops_and_says_so(served, open_page, browser_with):
    """An unplugged camera (or one the system takes back) ends its track and the video goes black: the page must
    stop instead of showing answers for a picture that is not there, and a new start shows none of the old ones."""
    page = _ready(open_page(f"{served}keras/?backend=wasm", on=browser_with(*FAKE_CAMERA)))
    p = page.page
    p.click("#camera-start")
    p.wait_for_function("() => document.querySelectorAll('#camera-results .prediction').length === 5")
    p.evaluate("() => document.querySelector('#camera-video').srcObject.getVideoTracks()[0]"
               ".dispatchEvent(new Event('ended'))")
    assert p.text_content("#camera-status") == "The camera was disconnected or taken by another application."
    assert p.locator("#camera-view").is_hidden() and p.locator("#camera-start").is_enabled()
    frames = p.get_attribute("#camera-fps-measured", "data-frames")
    p.wait_for_timeout(1500)  # no frame is classified after it (3 at the 2 fps cap otherwise)
    assert p.get_attribute("#camera-fps-measured", "data-frames") == frames
    # When the new session says it is on, the last session's answers are gone (its first frame is not done yet).
    shown = p.evaluate("""() => new Promise((resolve) => {
      const list = document.querySelector('#camera-results');
      const status = document.querySelector('#camera-status');
      const seen = new MutationObserver(() => {
        if (status.textContent.startsWith('Camera on')) { seen.disconnect(); resolve(list.children.length); }
      });
      seen.observe(status, { childList: true, characterData: true, subtree: true });
      document.querySelector('#camera-start').click();
    })""")
    assert shown == 0


def test_denied_camera_is_said_plainly(served, open_page, browser_with):
    # A fake camera exists, but this context was never given the permission: Chromium refuses.
    page = _ready(open_page(f"{served}keras/?backend=wasm", on=browser_with("--use-fake-device-for-media-stream")))
    page.page.click("#camera-start")
    page.page.wait_for_function("() => document.querySelector('#camera-status').textContent.includes('denied')")
    assert page.page.text_content("#camera-status").startswith("Camera access was denied.")
    assert page.page.locator("#camera-start").is_enabled() and page.page.locator("#camera-view").is_hidden()


def test_absent_camera_is_said_plainly(served, open_page, browser):
    # Permission granted, but this machine has no camera (and no fake one): getUserMedia fails for real.
    page = _ready(open_page(f"{served}keras/?backend=wasm", permissions=["camera"]))
    assert page.page.evaluate("""async () => (await navigator.mediaDevices.enumerateDevices())
        .filter((d) => d.kind === 'videoinput').length""") == 0  # the premise
    page.page.click("#camera-start")
    page.page.wait_for_function("() => document.querySelector('#camera-status').textContent.startsWith('No camera')")
    assert page.page.text_content("#camera-status") == "No camera was found on this device."
