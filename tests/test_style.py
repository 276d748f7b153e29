"""The page's colours meet WCAG 2 AA contrast, in the light and the dark scheme (computed from style.css)."""

from __future__ import annotations

import re

import pytest

from builder.site.render import TEMPLATES

CSS = (TEMPLATES / "css" / "style.css").read_text()

# (foreground, background, minimum): text needs 4.5:1, graphics that carry meaning 3:1.
PAIRS = [
    ("--text", "--bg", 4.5), ("--text", "--surface", 4.5), ("--muted", "--bg", 4.5), ("--muted", "--surface", 4.5),
    ("--accent-text", "--accent", 4.5),  # buttons
    ("--accent", "--surface", 4.5),  # secondary button text, focus outlines
    ("--text", "--accent-soft", 4.5), ("--muted", "--accent-soft", 4.5),  # drop zone while dragging
    ("--error-text", "--error-bg", 4.5), ("--text", "--error-bg", 4.5), ("--muted", "--error-bg", 4.5),
    ("--accent", "--bar-track", 3.0),  # probability bars and the download progress
]


def _scheme(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def _schemes() -> dict[str, dict[str, str]]:
    light = _scheme(re.search(r"^:root\s*\{(.*?)\n\}", CSS, re.S | re.M).group(1))
    dark_block = re.search(r"prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{(.*?)\}", CSS, re.S).group(1)
    return {"light": light, "dark": {**light, **_scheme(dark_block)}}


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("fg, bg, minimum", PAIRS)
def test_colours_meet_wcag_aa(scheme, fg, bg, minimum):
    colours = _schemes()[scheme]
    ratio = contrast(colours[fg], colours[bg])
    assert ratio >= minimum, f"{scheme}: {fg} {colours[fg]} on {bg} {colours[bg]} is {ratio:.2f}:1 (< {minimum})"


def test_every_colour_in_the_stylesheet_is_a_checked_variable():
    """Colours outside the variables would escape the checks above."""
    outside = re.sub(r":root\s*\{.*?\n\}", "", CSS, flags=re.S)
    outside = re.sub(r"@media \(prefers-color-scheme: dark\)\s*\{.*?\n\}\n", "", outside, flags=re.S)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(", outside) == []
