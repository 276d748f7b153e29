import os
import shutil
from pathlib import Path

import pytest

from builder.errors import RuntimeMissingError
from builder.site import page_scripts, render, vendor


def _bundles(root: Path) -> Path:
    folder = root / vendor.BUNDLE_DIR / page_scripts.FOLDER
    folder.mkdir(parents=True)
    for name in page_scripts.ENTRIES:
        (folder / name).write_text("export {};\n")
    return folder


def test_unbundled_or_stale_page_scripts_say_make_setup(tmp_path):
    """A build from a checkout never ships page code older than templates/js: editing a module
    without bundling again is one line saying what to run."""
    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES / page_scripts.FOLDER, templates / page_scripts.FOLDER)
    runtime = vendor.Runtime(tmp_path / "node_modules")
    with pytest.raises(RuntimeMissingError, match=r"not bundled; run 'make setup'"):
        page_scripts.locate(runtime, templates)
    folder = _bundles(runtime.node_modules)
    assert page_scripts.locate(runtime, templates) == folder
    edited = templates / page_scripts.FOLDER / "app.js"
    os.utime(edited, (folder.stat().st_mtime + 10,) * 2)
    with pytest.raises(RuntimeMissingError, match=r"older than .*app\.js; run 'make setup'"):
        page_scripts.locate(runtime, templates)


def test_an_installation_without_its_page_scripts_says_reinstall(tmp_path):
    runtime = vendor.Runtime(None, tmp_path)
    with pytest.raises(RuntimeMissingError, match="reinstall"):
        page_scripts.locate(runtime, render.TEMPLATES)
    folder = tmp_path / page_scripts.FOLDER
    folder.mkdir()
    for name in page_scripts.ENTRIES:
        (folder / name).write_text("export {};\n")
    assert page_scripts.locate(runtime, render.TEMPLATES) == folder

