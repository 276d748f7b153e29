"""The service worker's cache across builds: a visitor never mixes files from two builds."""

from __future__ import annotations

import json

import pytest

from tests.conftest import _build
from tests.e2e.conftest import Page


@pytest.fixture
def rebuildable(tmp_path, sequential_keras, served_dir):
    site = tmp_path / "site"
    labels = tmp_path / "labels.txt"

    def build(names: str):
        labels.write_text(names)
        _build(site, model=str(sequential_keras), labels=labels, preprocess="unit")

    build("north\neast\nsouth\nwest\n")
    return build, served_dir(site)


def test_a_new_build_is_offered_and_never_mixed_with_the_old(rebuildable, browser):
    build, url = rebuildable
    context = browser.new_context()
    try:
        first = Page(context, url)
        assert first.ready() == "ready"
        assert first.page.evaluate("window.browsernet.labels") == ["north", "east", "south", "west"]
        first.page.close()

        build("up\nright\ndown\nleft\n")  # a new deploy while the visitor is away
        second = Page(context, url)
        assert second.ready() == "ready"
        # Still the old build, whole: its labels with its model, served from its own cache ...
        assert second.page.evaluate("window.browsernet.labels") == ["north", "east", "south", "west"]
        # ... while the new build installs beside it, and the page offers it.
        second.page.wait_for_selector("#update:not([hidden])", timeout=30_000)
        second.page.click("#update-button")
        second.page.wait_for_function("() => window.browsernet && window.browsernet.labels[0] === 'up'", timeout=60_000)
        assert second.ready() == "ready"
        caches = second.page.evaluate("caches.keys()")
        assert len([c for c in caches if c.startswith("browsernet ")]) == 1, caches  # the old cache is gone
    finally:
        context.close()


def test_the_site_is_an_installable_web_app(served, open_page):
    """Chromium's own verdict, through CDP: the manifest parses and nothing blocks installation."""
    page = open_page(f"{served}keras/")
    assert page.ready() == "ready"
    page.page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    manifest = page.cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    data = json.loads(manifest["data"])
    assert data["name"] == "Fine-tuned <b>test</b>" and data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    errors = page.cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito, where Chromium never offers installation: that one is the
    # browser's, any other would be the site's.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == []
