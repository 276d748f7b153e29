"""Runs the page's JavaScript unit tests (tests/js/*.test.mjs) with Node's own test runner."""

import subprocess
from pathlib import Path

from builder.site.vendor import node_binary

JS_TESTS = Path(__file__).with_name("js")


def test_page_js_units():
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files
    # TAP, whatever Node's default reporter (Node 24's is "spec"): the check below reads TAP's summary.
    proc = subprocess.run([node_binary(), "--test", "--test-reporter=tap", *files], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
