"""pytest fixtures for your own Playwright tests of a browsernet site (a pytest plugin).

Installed with browsernet (a ``pytest11`` entry point), so the fixtures are there in any pytest run
in the same environment, with nothing to import::

    def test_the_shepherd_photo(browsernet_page):  # on the demo site (make demo-site)
        [best] = classify(browsernet_page, "models/german_shepherd.webp", top_k=1)
        assert best["label"] == "German shepherd"

Fixtures:

``browsernet_site``
    The site under test (session): ``--browsernet-site PATH|URL`` on the pytest command line, else
    ``site/``. Override the fixture in your ``conftest.py`` to choose it in code.
``browsernet_url``
    Its URL (session): a URL as given, or the folder served by browsernet's preview server (the one
    ``browsernet serve`` runs: COOP/COEP headers, ``.wasm`` as application/wasm) on a free port.
``browsernet_browser``
    A headless Chromium (session), the system's (see :mod:`builder.browser`).
``browsernet_page``
    A Playwright ``Page`` (one fresh browser context per test) on which ``window.browsernet.ready``
    has resolved, so ``window.browsernet.classify`` answers at once. The test fails with the page's
    own error message if the page does not become ready.

:func:`classify` classifies an image file on such a page, as a visitor's file is.
"""

from __future__ import annotations

import base64
import mimetypes
import threading
from pathlib import Path
from typing import Any, Iterator, NoReturn

import pytest

OPTION = "--browsernet-site"
DEFAULT_SITE = "site"
READY_TIMEOUT_MS = 180_000

# Functions, never bare expressions: the page's Content-Security-Policy has no 'unsafe-eval', so a
# string that Playwright would have to eval is refused there.
_AWAIT_READY = "() => window.browsernet.ready.then(() => true)"
_CLASSIFY_BYTES = """async ([b64, type, topK]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return await window.browsernet.classify(new Blob([bytes], { type }), topK ?? undefined);
}"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(OPTION, default=None, metavar="PATH|URL",
                     help=f"browsernet: the built site folder or deployed URL under test (default: {DEFAULT_SITE}/)")


def classify(page: Any, image: str | Path | bytes, top_k: int | None = None,
             type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002 - the Blob's name for it
    """Classify an image file (a path, or its bytes with ``type``) on a ready browsernet page.

    Returns ``[{label, index, probability}]``, most probable first: ``top_k`` of them (default: the
    site's ``--top-k``; ``len(labels)`` for all). Raises Playwright's ``Error`` with the page's message
    for a file that is not an image. Without ``type`` (and for a path without a known image suffix), the
    Blob gets none, as a visitor's file of unknown type does, and the browser sniffs the bytes.
    """
    if isinstance(image, (str, Path)):
        path = Path(image)
        data = path.read_bytes()
        guessed = mimetypes.guess_type(path.name)[0] or ""
        type = type or (guessed if guessed.startswith("image/") else "")  # dog.txt: no type, as its docstring says
    else:
        data = image
        type = type or ""
    return page.evaluate(_CLASSIFY_BYTES, [base64.b64encode(data).decode("ascii"), type, top_k])


def _fail(message: str) -> NoReturn:
    """Fail the test in one line: without pytest's traceback, and without the error being handled (raised from
    None, so pytest does not print that error first, "During handling of the above exception ...")."""
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def browsernet_site(request: pytest.FixtureRequest) -> str:
    """The site under test: ``--browsernet-site``, else ``site/`` (a path or a URL, as a string)."""
    return request.config.getoption(OPTION) or DEFAULT_SITE


@pytest.fixture(scope="session")
def browsernet_url(browsernet_site: str | Path) -> Iterator[str]:
    """The URL of the page under test, ending in ``/``."""
    target = str(browsernet_site)
    if target.startswith(("http://", "https://")):
        yield target if target.endswith("/") else target + "/"
        return
    from builder.errors import BrowsernetError
    from builder.serve import make_server, url_of

    try:
        server = make_server(Path(target), port=0)
    except BrowsernetError as e:
        _fail(f"browsernet_url: {e.format_message()}")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browsernet_browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``) for the session. It runs on the session's
    ``playwright`` fixture where there is one (pytest-playwright's, or your own): Playwright's sync
    API allows one running instance per thread."""
    from builder.browser import launch, start
    from builder.errors import BrowsernetError

    try:
        playwright = request.getfixturevalue("playwright")
    except pytest.FixtureLookupError:
        playwright = None
    try:
        if playwright is not None:
            browser = start(playwright)
            yield browser
            browser.close()
        else:
            with launch() as browser:
                yield browser
    except BrowsernetError as e:
        _fail(f"browsernet_browser: {e.format_message()}")


@pytest.fixture
def browsernet_page(browsernet_browser: Any, browsernet_url: str) -> Iterator[Any]:
    """A page of the site on which ``window.browsernet.ready`` has resolved (a fresh context per test)."""
    from playwright.sync_api import Error as PlaywrightError

    from builder.verify.run import settled_state

    context = browsernet_browser.new_context()
    try:
        page = context.new_page()
        try:
            page.goto(browsernet_url)
        except PlaywrightError as e:  # refused, no such host: the site, not a bug in the test
            _fail(f"{browsernet_url}: cannot be loaded ({str(e).strip().splitlines()[0]})")
        state = settled_state(page, READY_TIMEOUT_MS)
        if state != "ready":
            error = page.evaluate("() => (document.getElementById('error') || {}).textContent || ''")
            pytest.fail(f"{browsernet_url}: the page did not become ready ({state}): {error}", pytrace=False)
        page.evaluate(_AWAIT_READY)
        yield page
    finally:
        context.close()
