"""``browsernet deploy``: publish a built site to GitHub Pages or Firebase Hosting.

Both publishers first check the site against its ``report.json``: it must exist,
be complete, be fresh (its model and labels files unchanged since the build) and
fit the host's limits. Only then is anything written to git or to the host.

GitHub Pages goes through the ghp-import library, as ``mkdocs gh-deploy`` does:
one commit on the pages branch holding exactly the site, plus ``.nojekyll`` and
``CNAME``. Firebase goes through the firebase CLI with a generated ``firebase.json``.
Neither gets the build's pre-compressed ``.br``/``.gz`` copies: both hosts compress
responses themselves and cannot serve a copy in place of its original.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from builder import __version__, hosting, precompress, report
from builder.errors import DeployError

log = logging.getLogger(__name__)

# GitHub refuses to store files over 100 MiB, and a Pages site should stay under 1 GB.
PAGES_FILE_LIMIT = 100 * 1024 * 1024
PAGES_SITE_LIMIT = 1000 * 1000 * 1000
# Firebase Hosting's per-file limit is 2 GB.
FIREBASE_FILE_LIMIT = 2 * 1000 * 1000 * 1000

_GITHUB_REMOTE = re.compile(r"github\.com[:/](?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class PagesResult:
    url: str | None  # where Pages will serve the site; None for a remote not on github.com
    branch: str
    remote: str
    commit: str
    changed: bool  # False: the branch already held exactly this site
    pushed: bool


@dataclass(frozen=True)
class FirebaseResult:
    config: Path  # the firebase.json written
    project: str | None
    deployed: bool
    command: list[str]  # the firebase CLI command that deploys, run in the site folder (run, or to run)
    reason: str | None = None  # why it was not run (--dry-run)
    url: str | None = None


def check_site(site: Path, target: str, file_limit: int, site_limit: int | None = None) -> dict[str, Any]:
    """The site's report, after checking that the site is complete, fresh, and within ``file_limit``
    per file and ``site_limit`` in all (if given)."""
    data = report.read(site)
    if data is None:
        what = "does not exist" if not site.exists() else f"is not a browsernet build (no {report.REPORT_FILE})"
        raise DeployError(f"{site}: {what}; run 'browsernet build-site --out {site}' first")
    built_for = data.get("options", {}).get("target", hosting.GENERIC)
    if built_for not in (hosting.GENERIC, target):
        raise DeployError(f"{site}: built with --target {built_for}, not {target}; "
                          f"rebuild with 'browsernet build-site --target {target}'")
    if data.get("version") != __version__:
        raise DeployError(f"{site}: built by browsernet {data.get('version')}, this is {__version__}; rebuild it")
    for path, size in data.get("files", {}).items():
        if path in hosting.HOST_FILES:
            continue  # host configuration, which deploy itself may rewrite
        file = site / path
        if not file.is_file():
            raise DeployError(f"{file}: missing from the site (it is in {report.REPORT_FILE}); rebuild the site")
        if file.stat().st_size != size:
            raise DeployError(f"{file}: changed since the build ({file.stat().st_size} bytes, built as {size}); "
                              "rebuild the site")
    stale = report.stale_sources(data)
    if stale:
        raise DeployError(f"{site}: stale: {stale} changed since the site was built; rebuild it with "
                          "'browsernet build-site' before deploying")
    total = 0
    for file in precompress.site_files(site):
        size = file.stat().st_size
        if size > file_limit:
            raise DeployError(f"{file}: {size / 2**20:.1f} MiB is over the host's {file_limit / 2**20:.0f} MiB "
                              "per-file limit; use a smaller --shard-size (weights) or remove the file")
        total += size
    if site_limit is not None and total > site_limit:
        raise DeployError(f"{site}: {total / 1e6:.0f} MB is over the host's {site_limit / 1e6:.0f} MB site limit")
    return data


def default_message(data: dict[str, Any]) -> str:
    alpha = f" alpha {data['alpha']:g}" if data.get("alpha") is not None else ""
    size = "x".join(str(n) for n in data.get("input_size", []))
    return (f"Deploy {data.get('family')}{alpha} {size} ({data.get('model')}, {data.get('classes')} classes) "
            f"with browsernet {__version__}")


def pages_url(remote_url: str, cname: str | None) -> str | None:
    """The URL GitHub Pages serves a repository's pages branch at."""
    if cname:
        return f"https://{cname}/"
    m = _GITHUB_REMOTE.search(remote_url.strip())
    if not m:
        return None
    owner, repo = m["owner"], m["repo"]
    if repo.lower() == f"{owner.lower()}.github.io":
        return f"https://{owner.lower()}.github.io/"
    return f"https://{owner.lower()}.github.io/{repo}/"


def github_pages(site: Path, *, remote: str = "origin", branch: str = "gh-pages", message: str | None = None,
                 cname: str | None = None, repo: Path | None = None) -> PagesResult:
    """Commit ``site`` to ``branch`` of the git repository at ``repo`` (default: the current
    directory) with ghp-import, and push it to ``remote`` unless the remote already has it."""
    data = check_site(site, hosting.GITHUB_PAGES, PAGES_FILE_LIMIT, PAGES_SITE_LIMIT)
    cname = hosting.check_cname(cname) if cname else data.get("options", {}).get("cname")
    git = _Git(repo or Path.cwd())
    git.require_repo()
    remote_url = git.remote_url(remote)
    remote_tip = git.fetch(remote, branch)
    before = git.rev(f"refs/heads/{branch}")
    import ghp_import

    with git.committer(), _without_copies(site) as source, _cwd(git.root):
        try:
            ghp_import.ghp_import(str(source), remote=remote, branch=branch,
                                  mesg=message or default_message(data), nojekyll=True, cname=cname, push=False)
        except ghp_import.GhpError as e:
            raise DeployError(f"{git.root}: ghp-import failed: {e.message}") from e
    after = git.rev(f"refs/heads/{branch}")
    if after is None or after == before:
        raise DeployError(f"{git.root}: ghp-import could not commit {site} to {branch} (git fast-import failed)")
    changed = before is None or git.tree(after) != git.tree(before)
    if not changed:
        git.run("update-ref", f"refs/heads/{branch}", before, after)  # drop the empty commit
        after = before
    pushed = after != remote_tip
    if pushed:
        git.run("push", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return PagesResult(url=pages_url(remote_url, cname), branch=branch, remote=remote, commit=after,
                       changed=changed, pushed=pushed)


def firebase(site: Path, *, project: str | None = None, dry_run: bool = False,
             firebase_cli: str | None = None) -> FirebaseResult:
    """Write ``firebase.json``/``.firebaserc`` into ``site`` and, unless ``dry_run``, deploy
    with the firebase CLI when it is installed and logged in."""
    check_site(site, hosting.FIREBASE, FIREBASE_FILE_LIMIT)
    project = hosting.check_project(project) if project else hosting.firebase_project(site)
    hosting.write_firebase_files(site, project)
    config = site / hosting.FIREBASE_JSON
    command = ["firebase", "deploy", "--only", "hosting", "--project", project or "YOUR_PROJECT_ID"]
    if dry_run:
        return FirebaseResult(config, project, False, command, reason="--dry-run")
    cli = firebase_cli or _firebase_cli()
    first = ""
    if not project:
        reason = "no Firebase project given (--project ID, or build with --firebase-project ID)"
    elif cli is None:
        reason, first = "the firebase CLI is not installed", "npm install -g firebase-tools && firebase login && "
    elif not _logged_in(cli, site):
        reason, first = "the firebase CLI is not logged in", "firebase login && "
    else:
        reason = None
    if reason:
        raise DeployError(f"{site}: not deployed: {reason}; firebase.json is written, so deploy with: "
                          f"cd {shlex.quote(str(site))} && {first}{shlex.join(command)}")
    done = subprocess.run([cli, *command[1:], "--non-interactive"], capture_output=True, text=True, cwd=site)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if "Error" in line]
        raise DeployError(f"firebase deploy failed in {site}: {(lines or ['exit %d' % done.returncode])[-1].strip()}")
    url = re.search(r"Hosting URL: (\S+)", done.stdout)
    return FirebaseResult(config, project, True, command, url=url[1] if url else f"https://{project}.web.app/")


def _logged_in(cli: str, site: Path) -> bool:
    done = subprocess.run([cli, "login:list", "--json"], capture_output=True, text=True, cwd=site)
    return done.returncode == 0 and '"email"' in done.stdout


def _firebase_cli() -> str | None:
    """The firebase CLI on PATH, else the one ``npm ci`` installs beside browsernet."""
    from builder.vendor import PROJECT_ROOT

    local = PROJECT_ROOT / "node_modules" / ".bin" / "firebase"
    return shutil.which("firebase") or (str(local) if local.is_file() else None)


class _Git:
    """The few git commands deploy needs; every failure becomes a one-line DeployError."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.root = where

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        except FileNotFoundError as e:
            raise DeployError("git is not installed (apt-get install git)") from e
        if check and done.returncode != 0:
            message = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])
            first = next((m for m in message if m.startswith(("fatal:", "error:"))), message[0])
            raise DeployError(f"git {args[0]} failed in {self.root}: {first}")
        return done

    def require_repo(self) -> None:
        if not self.where.is_dir():
            raise DeployError(f"{self.where}: no such directory")
        done = self.run("rev-parse", "--show-toplevel", check=False)
        if done.returncode != 0:
            raise DeployError(f"{self.where}: not a git repository; deploy github-pages publishes to a branch of "
                              "the repository you run it in (git init, git remote add origin URL)")
        self.root = Path(done.stdout.strip())

    def remote_url(self, remote: str) -> str:
        done = self.run("remote", "get-url", remote, check=False)
        if done.returncode != 0:
            raise DeployError(f"{self.root}: no git remote named {remote!r}; add it with "
                              f"'git remote add {remote} URL' or pass --remote")
        return done.stdout.strip()

    def fetch(self, remote: str, branch: str) -> str | None:
        """Bring ``remote``'s ``branch`` into ``refs/remotes/remote/branch``; return its tip (None if absent)."""
        listing = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}")
        if not listing.stdout.strip():
            return None
        self.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        return listing.stdout.split()[0]

    def rev(self, ref: str) -> str | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return done.stdout.strip() or None

    def tree(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").stdout.strip()

    @contextmanager
    def committer(self) -> Iterator[None]:
        """ghp-import commits as git's user.name/email; supply a name where none is configured."""
        saved = {k: os.environ.get(k) for k in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")}
        if not self.run("config", "user.name", check=False).stdout.strip() and not saved["GIT_COMMITTER_NAME"]:
            os.environ["GIT_COMMITTER_NAME"] = "browsernet"
        if not self.run("config", "user.email", check=False).stdout.strip() and not saved["GIT_COMMITTER_EMAIL"]:
            os.environ["GIT_COMMITTER_EMAIL"] = "browsernet@localhost"
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextmanager
def _without_copies(site: Path) -> Iterator[Path]:
    """A temporary copy of ``site`` without its pre-compressed copies (ghp-import takes a whole folder)."""
    with tempfile.TemporaryDirectory(prefix="browsernet-pages-") as tmp:
        staged = Path(tmp) / "site"
        try:
            shutil.copytree(site, staged, ignore=shutil.ignore_patterns(*precompress.COPY_PATTERNS))
        except OSError as e:
            raise DeployError(f"{site}: cannot stage the site for ghp-import: {e}") from e
        yield staged


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    """ghp-import runs git in the current directory."""
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
