"""Checks every host shares before anything is published: the site is a complete, fresh browsernet build
that fits the host's limits. Hosts raise :class:`~builder.errors.DeployError`, which the CLI prints in one line."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

from builder import __version__, report
from builder.errors import DeployError, named
from builder.site import hosting, precompress

log = logging.getLogger(__name__)

# The host files a deploy may find changed, or write itself (GitHub Pages' .nojekyll; firebase.json and .firebaserc,
# which the user may add to). Not CNAME: the domain GitHub Pages serves the site at is the build's (--cname), or
# the deploy's --cname, which replaces the file.
REWRITTEN = tuple(name for name in hosting.HOST_FILES if name != hosting.CNAME)


def check_site(site: Path, target: str, file_limit: int, site_limit: int | None = None) -> report.BuildReport:
    """The site's report, after checking that the site is complete (every file in the report, with its
    size and sha256), fresh (its model and labels files unchanged where they are still there: a missing one
    is a warning), within ``file_limit`` per file and
    ``site_limit`` in all (if given), and holds nothing else (host configuration aside). Raises
    :class:`DeployError` naming the first file that is not."""
    data = report.load(site)
    if data is None:
        raise DeployError(report.not_a_site(site))
    built_for = data.target
    if built_for not in (hosting.GENERIC, target):
        raise DeployError(f"{site}: built with --target {built_for}, not {target}; "
                          f"rebuild with 'browsernet build-site --target {target}'")
    if data.version != __version__:
        raise DeployError(f"{site}: built by browsernet {data.version}, this is {__version__}; rebuild it")
    # Every file as built, content included: before any git command or upload.
    # Host configuration, which deploy may rewrite; not CNAME, which decides where the site is served.
    changed = data.changed_file(site, skip=REWRITTEN)
    if changed:
        raise DeployError(f"{changed}; rebuild the site")
    stale = data.stale_source(site)
    if stale:
        raise DeployError(f"{site}: stale: {stale} since the site was built; rebuild it with "
                          "'browsernet build-site' before deploying")
    for missing in data.missing_sources(site):  # e.g. a site built elsewhere (CI) and deployed from here
        log.warning("%s, so whether %s/ is still fresh cannot be checked; deploying it as built (its own files "
                    "match report.json)", missing, site)
    total = 0
    for file in precompress.site_files(site):
        size = file.stat().st_size
        if size > file_limit:
            raise DeployError(f"{file}: {size / 2**20:.1f} MiB is over the host's {file_limit / 2**20:.0f} MiB "
                              "per-file limit; use a smaller --shard-size (weights) or remove the file")
        total += size
    if site_limit is not None and total > site_limit:
        raise DeployError(f"{site}: {total / 1e6:.0f} MB is over the host's {site_limit / 1e6:.0f} MB site limit")
    # Exactly the site: a file the build did not write (a .git/ folder, an .env, a stray download) is not
    # published by accident, and neither is what a symbolic link leads to (a folder elsewhere on this machine).
    links = symlinks(site)
    if links:
        raise DeployError(f"{site}: {named(links)}: a symbolic link, which the build never writes; a "
                          "deploy would publish what it leads to, so remove it")
    if (site / hosting.CNAME).is_file() and hosting.CNAME not in data.files:
        domain = hosting.read_cname(site)
        what = f"names the custom domain {domain}" if domain else "is empty"
        fix = (f"rebuild with --target github-pages --cname {domain} to serve it there, or remove the file"
               if domain and target == hosting.GITHUB_PAGES else "remove the file")
        raise DeployError(f"{site / hosting.CNAME}: {what}, but the build wrote no {hosting.CNAME} (not in "
                          f"{report.REPORT_FILE}), and it decides where the site is served; {fix}")
    extra = unlisted(site, data.files)
    if extra:
        them = "them" if len(extra) > 1 else "it"
        raise DeployError(f"{site}: {named(extra)}: not written by the build (not in "
                          f"{report.REPORT_FILE}); a deploy publishes exactly the site, so move {them} out of the folder")
    return data


def symlinks(site: Path) -> list[str]:
    """The symbolic links in ``site`` (site-relative, sorted), to files or folders, looked for without
    following any (``rglob`` does not enter a linked folder, so :func:`unlisted` cannot see inside one)."""
    found = []
    for folder, dirs, files in os.walk(site, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                found.append(path.relative_to(site).as_posix())
    return sorted(found)


def unlisted(site: Path, files: Iterable[str]) -> list[str]:
    """The files in ``site`` (site-relative, sorted) that the build did not write: not among ``files``
    (report.json's), host configuration deploy may rewrite or report.json itself (a .git/ folder, an .env, a
    stray download, a ``CNAME`` the build did not write)."""
    built = {*files, *REWRITTEN, report.REPORT_FILE}
    return [path for path in (p.relative_to(site).as_posix() for p in precompress.site_files(site)) if path not in built]


def default_message(data: report.BuildReport) -> str:
    alpha = f" alpha {data.alpha:g}" if data.alpha is not None else ""
    size = "x".join(str(n) for n in data.input_size)
    return f"Deploy {data.family}{alpha} {size} ({data.model}, {data.classes} classes) with browsernet {__version__}"
