"""What each host needs beside the site's own files: GitHub Pages and Firebase Hosting.

``build-site --target`` writes these files at build time and ``deploy`` reuses
them, so a site built for a host deploys with no further options. The rules are
data (:data:`TARGETS`, :func:`firebase_config`) so tests can check them directly.

Caching policy, for every host that lets us set headers: files whose names carry
a content hash never change and are cached for a year; every other file is
revalidated on each visit (``no-cache``), so a new deploy is seen at once and a
page never pairs new HTML with an old model.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from builder.site import precompress
from builder.errors import BrowsernetError, OptionError

GENERIC, GITHUB_PAGES, FIREBASE = "generic", "github-pages", "firebase"
TARGETS = (GENERIC, GITHUB_PAGES, FIREBASE)

NOJEKYLL = ".nojekyll"
CNAME = "CNAME"
FIREBASE_JSON = "firebase.json"
FIREBASERC = ".firebaserc"
# Files that configure the host rather than being part of the site.
HOST_FILES = (NOJEKYLL, CNAME, FIREBASE_JSON, FIREBASERC)

# The build's pre-compressed copies, which no deploy uploads.
PRECOMPRESSED_GLOBS = tuple(f"**/{pattern}" for pattern in precompress.COPY_PATTERNS)

# A content hash in a file name, as convert writes it: group1-shard1of2.0123456789ab.bin
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def is_hashed(path: str) -> bool:
    """Whether a site file's name carries a content hash (and so may be cached forever)."""
    return bool(HASHED_NAME.search(path))


def check_cname(cname: str) -> str:
    if not _DOMAIN.fullmatch(cname):  # fullmatch: a "$" pattern's match also takes a trailing newline
        raise OptionError(f"--cname {cname!r}: not a domain name (expected something like www.example.com)")
    return cname.lower()


def check_project(project: str, option: str = "--firebase-project") -> str:
    """``project`` if it is a valid Firebase project ID; else :class:`~builder.errors.OptionError` naming
    ``option``."""
    if not _PROJECT_ID.fullmatch(project):
        raise OptionError(f"{option} {project!r}: not a Firebase project ID (6-30 characters: "
                              "lower-case letters, digits and hyphens, starting with a letter)")
    return project


def firebase_config(port: int = 5000) -> dict:
    """``firebase.json`` for a site folder: the folder itself is ``public``.

    Later header rules override earlier ones for the same header, so the hashed-file
    rule comes after the catch-all ``no-cache``. The pre-compressed ``.br``/``.gz`` copies
    are not uploaded: Firebase compresses every response itself and would serve a copy
    only under its own name.
    """
    return {
        "hosting": {
            "public": ".",
            "ignore": [FIREBASE_JSON, FIREBASERC, "**/.*", "**/node_modules/**", *PRECOMPRESSED_GLOBS],
            "cleanUrls": False,
            "headers": [
                {"source": "**", "headers": [{"key": k, "value": v} for k, v in ISOLATION_HEADERS.items()]
                 + [{"key": "Cache-Control", "value": REVALIDATE}]},
                {"source": "**/*.wasm", "headers": [{"key": "Content-Type", "value": "application/wasm"}]},
                {"regex": HASHED_NAME.pattern, "headers": [{"key": "Cache-Control", "value": IMMUTABLE}]},
            ],
        },
        "emulators": {"hosting": {"port": port}, "ui": {"enabled": False}},
    }


def write_target_files(site: Path, target: str, *, cname: str | None = None,
                       firebase_project: str | None = None, previous: Path | None = None) -> list[str]:
    """Write the host files ``target`` needs into ``site``; return their names. ``previous``: the build this one
    replaces, whose ``firebase.json``/``.firebaserc`` additions (an emulator port, aliases) are kept."""
    written = []
    if target == GITHUB_PAGES:
        (site / NOJEKYLL).write_text("")  # Jekyll would drop files and folders starting with '_'
        written.append(NOJEKYLL)
        if cname:
            (site / CNAME).write_text(cname + "\n")
            written.append(CNAME)
    elif target == FIREBASE:
        write_firebase_files(site, firebase_project, previous)
        written.append(FIREBASE_JSON)
        if (site / FIREBASERC).is_file():
            written.append(FIREBASERC)
    return written


def write_firebase_files(site: Path, project: str | None, previous: Path | None = None) -> None:
    """``firebase.json`` (and ``.firebaserc`` naming the default project, if known) in ``site``, keeping what a
    user added beside browsernet's rules: ``firebase.json``'s other sections (``emulators``, ``functions``), and
    ``.firebaserc``'s other aliases and ``targets``; read from the folder ``previous`` (the build a new build
    replaces) where given, else from ``site`` itself.

    Raises :class:`BrowsernetError` (nothing written) for a file that is not a JSON object, or a ``firebase.json``
    whose ``hosting`` section is not browsernet's (edited: its redirects or headers would be lost)."""
    config, rc = previous_firebase_files(previous if previous is not None else site,
                                         "a rebuild" if previous is not None else "deploy")
    ours = firebase_config()
    merged = {**ours, **config, "hosting": ours["hosting"]}
    (site / FIREBASE_JSON).write_text(json.dumps(merged, indent=2) + "\n")
    # The default project is the build's (--firebase-project, recorded in report.json): a rebuild without it does
    # not deploy to the last build's project unasked. The other aliases and targets are the user's, and stay.
    projects = {k: v for k, v in rc["projects"].items() if k != "default"}  # a dict: previous_firebase_files
    rc = {k: v for k, v in rc.items() if k != "projects"}
    if project:
        projects = {**projects, "default": project}
    if projects:
        rc["projects"] = projects
    if rc:
        (site / FIREBASERC).write_text(json.dumps(rc, indent=2) + "\n")


def previous_firebase_files(folder: Path, writer: str = "a rebuild") -> tuple[dict, dict]:
    """``folder``'s ``firebase.json`` and ``.firebaserc`` as JSON objects ({} where absent; ``.firebaserc``'s
    ``projects`` always a dict), which a build for Firebase, and ``deploy firebase`` (``writer``, as the message
    names it), keep what the user added to. Raises :class:`BrowsernetError` for a file that is not a JSON object,
    a ``projects`` that is not one, or a ``firebase.json`` whose ``hosting`` section is not browsernet's (edited:
    writing browsernet's would lose its redirects or headers). Cheap: the build checks it before it converts."""
    config, rc = _json_object(folder / FIREBASE_JSON), _json_object(folder / FIREBASERC)
    projects = rc.get("projects", {})
    if not isinstance(projects, dict):
        raise BrowsernetError(f"{folder / FIREBASERC}: its \"projects\" is {_json_type(projects)}, not the "
                              "object of aliases the firebase CLI reads ({\"default\": \"PROJECT_ID\"}); fix it, or "
                              "delete the file")
    rc = {**rc, "projects": projects}
    ours = firebase_config()["hosting"]
    hosting = config.get("hosting", ours)
    if hosting != ours:
        if isinstance(hosting, dict):
            what = ", ".join(sorted(k for k in {*hosting, *ours} if hosting.get(k) != ours.get(k)))
            what = f"its hosting section is not the one browsernet writes ({what} differ)"
        else:
            several = " (several sites?)" if isinstance(hosting, list) else ""
            what = f"its hosting section is {_json_type(hosting)}{several}, not the object browsernet writes"
        raise BrowsernetError(
            f"{folder / FIREBASE_JSON}: {what}, and {writer} writes browsernet's, which would lose that; nothing was "
            f"{'built' if writer == 'a rebuild' else 'deployed'}. Keep your firebase.json outside the site folder and "
            "deploy with the firebase CLI (with browsernet's headers, which the site needs), or delete the file to "
            "take browsernet's")
    return config, rc


def read_cname(folder: Path) -> str | None:
    """The custom domain ``folder``'s ``CNAME`` names (its first word, as GitHub Pages reads it), or None when there
    is no such file or it names none."""
    try:
        lines = (folder / CNAME).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None
    return lines[0] if lines else None


def firebase_additions(folder: Path) -> list[str]:
    """What ``folder``'s ``firebase.json`` and ``.firebaserc`` hold beyond what browsernet writes (its hosting
    and emulators sections, a default project), each named for a message: ``firebase.json's edited emulators``,
    ``firebase.json's functions``, ``.firebaserc's alias staging``; a file that is not a JSON object is named
    whole. A build for another target than Firebase writes neither file, so these would be lost."""
    found = []
    for name in (FIREBASE_JSON, FIREBASERC):
        try:
            data = _json_object(folder / name)
        except BrowsernetError:
            found.append(f"{name} (not the JSON object browsernet writes)")
            continue
        if name == FIREBASE_JSON:
            ours = firebase_config()
            found += [f"{name}'s {'edited ' if key in ours else ''}{key}" for key, value in data.items()
                      if value != ours.get(key)]
        else:
            found += [f"{name}'s {key}" for key in data if key != "projects"]
            projects = data.get("projects", {})
            found += ([f"{name}'s alias {alias}" for alias in projects if alias != "default"]
                      if isinstance(projects, dict) else [f"{name}'s projects"])
    return found


def _json_type(value: object) -> str:
    """``value``'s JSON type, as a person reads it in the file: "a list", "null", "a string", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {list: "a list", str: "a string", dict: "an object"}.get(type(value), "a number")


def _json_object(path: Path) -> dict:
    """``path``'s JSON object; {} when there is no such file. Raises :class:`BrowsernetError` for another file."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise BrowsernetError(f"{path}: not readable as JSON ({e}); browsernet writes this file: fix it, or delete "
                              "it to take browsernet's") from e
    if not isinstance(data, dict):
        raise BrowsernetError(f"{path}: not a JSON object; browsernet writes this file: delete it to take "
                              "browsernet's")
    return data


def firebase_project(site: Path) -> str | None:
    """The default project recorded in ``site/.firebaserc``, if any."""
    try:
        return json.loads((site / FIREBASERC).read_text())["projects"]["default"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
