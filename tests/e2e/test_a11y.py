"""Accessible and progressive: a page that explains itself without JavaScript, keyboard access to
the file picker, status through live regions, controls disabled until the model is warm."""

from __future__ import annotations


def test_without_javascript_the_page_says_what_it_is_and_why_it_needs_js(served, open_page):
    page = open_page(f"{served}keras/", java_script_enabled=False)
    notice = page.page.locator("noscript .notice")
    assert notice.is_visible()
    text = notice.text_content()
    assert "needs JavaScript" in text and "image classifier" in text and "never uploaded" in text
    assert page.page.text_content("h1") == "Fine-tuned <b>test</b>"  # what the page is, as text
    # Not a loader that never ends, nor controls that do nothing, under the notice.
    for part in ("#status", "#dropzone", "#camera-start", "#model-card-title"):
        assert not page.page.locator(part).is_visible(), part


def test_file_input_is_reached_by_keyboard_and_opens_with_enter(served, open_page):
    page = open_page(f"{served}keras/?backend=wasm")
    # Playwright turns file-chooser interception on without waiting for it; listening this
    # early makes sure it is on before Enter is pressed (under load it otherwise races).
    page.page.on("filechooser", lambda chooser: None)
    assert page.page.locator("#file-input").is_disabled()  # not before the model is warm
    assert page.ready() == "ready"
    p = page.page
    for _ in range(10):
        p.keyboard.press("Tab")
        if p.evaluate("document.activeElement.id") == "file-input":
            break
    assert p.evaluate("document.activeElement.id") == "file-input"
    assert p.evaluate("document.activeElement.matches(':focus-visible')")
    with p.expect_file_chooser() as chooser:
        p.keyboard.press("Enter")
    assert chooser.value.is_multiple()


def test_status_is_announced_through_live_regions(served, open_page, tmp_path):
    from PIL import Image

    page = open_page(f"{served}keras/?backend=wasm")
    p = page.page
    assert p.get_attribute("#status", "aria-live") == "polite" and p.get_attribute("#status", "role") == "status"
    assert p.get_attribute("#queue", "aria-live") == "polite"
    assert p.get_attribute("#camera-status", "aria-live") == "polite"
    assert p.get_attribute("#error", "role") == "alert"
    assert page.ready() == "ready"
    assert p.text_content("#status").startswith("Ready. Running on the wasm backend")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "red.png")
    p.set_input_files("#file-input", str(tmp_path / "red.png"))
    p.wait_for_function("() => document.querySelector('#queue').textContent.startsWith('Done')")
    label = p.locator("#results .card .prediction-label").first.text_content()
    pct = p.locator("#results .card .prediction-pct").first.text_content()
    assert p.text_content("#queue") == f"Done. red.png: {label}, {pct}."  # the answer itself is announced
    assert p.locator("#camera-start").is_enabled()


def test_model_card_shows_the_report_and_live_measurements(served, open_page, sites):
    import json

    report = json.loads((sites["stock"] / "report.json").read_text())
    page = open_page(f"{served}stock/?backend=wasm")
    assert page.ready() == "ready"
    p = page.page
    card = dict(zip(p.locator("#model-card dt").all_text_contents(), p.locator("#model-card dd").all_text_contents()))
    assert card["Family"] == "MobileNet V2" and card["Alpha (width)"] == "0.35"
    assert card["Input size"] == "96×96 pixels, resized by squash"
    assert card["Parameters"] == f"{report['parameters']:,}"
    assert card["Multiply-adds"] == f"{report['multiply_adds'] / 1e6:,.1f} M"
    assert card["Download size"].startswith(f"{report['model_bytes'] / 1e6:.1f} MB model")
    assert card["Quantization"] == "none"
    assert card["Backend"] == "wasm, in a Web Worker"
    # Nothing asked for a classification, so the page warms the model up on its own.
    p.wait_for_function("() => window.browsernet.stats().warmupMs !== null")
    card = dict(zip(p.locator("#model-card dt").all_text_contents(), p.locator("#model-card dd").all_text_contents()))
    assert card["First inference"].endswith(" ms")
    assert card["Inference time"] == "not measured yet"  # no inference but the warm-up has run
    p.evaluate("async () => { for (let i = 0; i < 2; i++) await window.browsernet.classify(new ImageData(8, 8)); }")
    card = dict(zip(p.locator("#model-card dt").all_text_contents(), p.locator("#model-card dd").all_text_contents()))
    assert card["Inference time"].endswith(" median on this device (2 runs after the first; the model alone, not "
                                           "decoding and resizing the image)")
    stats = p.evaluate("window.browsernet.stats()")
    assert stats["warmupMs"] > 0 and stats["medianMs"] > 0 and len(stats["inferences"]) == 2
