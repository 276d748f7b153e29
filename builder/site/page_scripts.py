"""The page's own scripts, bundled: find them and check that they are current.

``templates/js`` holds the page's code as small ES modules. A site gets them bundled
(``builder/site/page_scripts.mjs``, run by ``make setup`` with the pinned esbuild): the
page's two entry modules with their shared chunk and their dynamic imports, and the
inference worker as one file. A return visit then asks the service worker's cache for 6
scripts instead of 35 (docs/performance.md, "Warm navigation").

In a checkout the bundles are in ``node_modules/.browsernet/js``; an installed wheel carries
them in ``builder/_assets/js``, staged by ``make dist`` (:func:`stage`) and committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builder.errors import RuntimeMissingError
from builder.site import vendor

FOLDER = "js"
# The entry scripts, under these names in every site: index.html's <script type=module> tags
# and the worker that engine.js and early-worker.js start (`new URL('./worker.js', import.meta.url)`).
ENTRIES = ("early-worker.js", "boot.js", "worker.js")
BUNDLER = Path(__file__).with_name("page_scripts.mjs")


def sources(templates: Path) -> list[Path]:
    """The modules the bundles are made from (``templates/js/*.js``), and the script that bundles them."""
    return [*sorted((templates / FOLDER).glob("*.js")), BUNDLER]


def locate(runtime: vendor.Runtime, templates: Path) -> Path:
    """The folder of bundled page scripts that goes into a site as ``js/``.

    In a checkout (``runtime.node_modules``) it must be newer than every module in ``templates/js``
    and than the bundler; else, or when it is missing, :class:`RuntimeMissingError` says to run
    ``make setup``. An installed wheel's (``runtime.assets``) is taken as packaged.
    """
    if runtime.node_modules is None:
        folder = runtime.assets / FOLDER
        if not all((folder / name).is_file() for name in ENTRIES):
            raise RuntimeMissingError(f"{folder}: the page's scripts are missing from this installation; "
                                      "reinstall browsernet")
        return folder
    folder = runtime.node_modules / vendor.BUNDLE_DIR / FOLDER
    if not all((folder / name).is_file() for name in ENTRIES):
        raise RuntimeMissingError(f"{folder}: the page's scripts are not bundled; run 'make setup' "
                                  f"in {vendor.PROJECT_ROOT}")
    built = min((folder / name).stat().st_mtime for name in ENTRIES)
    changed = [p for p in sources(templates) if p.stat().st_mtime > built]
    if changed:
        raise RuntimeMissingError(f"{folder}: older than {changed[0]}; run 'make setup' in {vendor.PROJECT_ROOT} "
                                  "to bundle the page's scripts again")
    return folder


def stage(runtime: vendor.Runtime, templates: Path, dest: Path = vendor.ASSETS) -> list[str]:
    """Copy the bundled page scripts into ``dest/js`` (``make dist``), replacing what was there; returns
    the files, relative to ``dest``."""
    folder = locate(runtime, templates)
    target = dest / FOLDER
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target)
    return sorted(f"{FOLDER}/{path.name}" for path in target.iterdir())
