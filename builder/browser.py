"""A headless Chromium driven through Playwright: used by ``browsernet bench`` and the tests.

browsernet never downloads a browser: it uses the system's Chromium (Debian's
``chromium`` package, installed by ``make setup``) or ``$BROWSERNET_CHROMIUM``.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from builder.errors import BrowsernetError

ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
    # WebGL without a GPU goes through SwiftShader (correct, slow); with a GPU these change nothing.
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
    # ... for WebGL only: the page itself is composited and rasterized in software, as a stock Chromium
    # does on a machine without a GPU (its SystemInfo says gpu_compositing "disabled_software"). Without
    # these, the flags above move compositing onto SwiftShader's GL too, which cost 0.3-0.6 s of the GPU
    # process's CPU time per navigation here and slowed warm navigation by 20-30% (docs/performance.md).
    "--disable-gpu-compositing", "--disable-gpu-rasterization",
]
# WebGPU: Chromium on Linux offers no adapter without these; with them, a machine without a GPU gets
# SwiftShader's software Vulkan adapter ("google | swiftshader": correct, slow). Added only where a
# command or a test runs the webgpu backend.
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader"]
# Seconds to wait for navigator.gpu.requestAdapter(), which can stall on a broken driver.
ADAPTER_TIMEOUT_S = 20
_ADAPTER = """async (timeoutMs) => {
  if (!navigator.gpu) {
    return isSecureContext ? 'no navigator.gpu'
      : 'not a secure context: WebGPU needs https:// or localhost';
  }
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
  try {
    const adapter = await Promise.race([navigator.gpu.requestAdapter(), timeout]);
    if (adapter === 'timeout') return `requestAdapter() gave no answer in ${timeoutMs / 1000} s`;
    return adapter ? null : 'requestAdapter() gave none';
  } catch (err) {
    return `requestAdapter() failed: ${err && err.message ? err.message : err}`;
  }
}"""


def chromium_path() -> Path:
    """``$BROWSERNET_CHROMIUM``, else ``chromium``/``chromium-browser`` on PATH, else /usr/bin/chromium."""
    env = os.environ.get("BROWSERNET_CHROMIUM")
    found = env or shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    return Path(found)


@contextmanager
def launch(extra_args: list[str] | None = None) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise BrowsernetError("Playwright is not installed: run 'make setup' (or pip install playwright)") from e
    chromium_path_checked()
    with sync_playwright() as p:
        browser = start(p, extra_args)
        try:
            yield browser
        finally:
            browser.close()


def webgpu_unavailable(browser: Any, url: str) -> str | None:
    """Why a page at ``url`` gets no WebGPU adapter in ``browser`` (a Playwright ``Browser``, launched
    with :data:`WEBGPU_ARGS`), in a few words; None where it gets one. ``url`` should be a file of the
    site (WebGPU exists only in secure contexts: https:// or localhost, never about:blank); it is
    opened in a context of its own, so no service worker or cache of the caller's is touched.

    Raises Playwright's ``Error`` if the page cannot be opened."""
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        page.goto(url, timeout=60_000)
        return page.evaluate(_ADAPTER, ADAPTER_TIMEOUT_S * 1000)
    finally:
        context.close()


def chromium_path_checked() -> Path:
    """:func:`chromium_path`, or a :class:`BrowsernetError` saying how to get Chromium."""
    path = chromium_path()
    if not path.exists():
        raise BrowsernetError(f"Chromium not found at {path}: install it (apt-get install chromium) "
                              "or set BROWSERNET_CHROMIUM")
    return path


def start(playwright: Any, extra_args: list[str] | None = None) -> Any:
    """A headless Chromium (a Playwright ``Browser``) from a running ``playwright`` (one per thread can
    run: pytest-playwright's, say); the caller closes it."""
    from playwright.sync_api import Error

    path = chromium_path_checked()
    try:
        return playwright.chromium.launch(executable_path=str(path), args=ARGS + (extra_args or []), headless=True)
    except Error as e:
        raise BrowsernetError(f"{path}: Chromium did not start: {str(e).splitlines()[0]}") from e
