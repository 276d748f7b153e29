"""GitHub Pages: one commit on the pages branch holding exactly the site, plus ``.nojekyll`` and ``CNAME``.

It goes through the ghp-import library, as ``mkdocs gh-deploy`` does, after :func:`~builder.publish.base.check_site`.
The build's pre-compressed ``.br``/``.gz`` copies stay behind: Pages compresses responses itself.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import ghp_import

from builder import interrupts, report
from builder.errors import DeployError, named
from builder.publish.base import check_site, default_message
from builder.site import hosting, precompress

log = logging.getLogger(__name__)

# GitHub refuses to store files over 100 MiB, and a Pages site should stay under 1 GB.
PAGES_FILE_LIMIT = 100 * 1024 * 1024
PAGES_SITE_LIMIT = 1000 * 1000 * 1000
# Firebase's configuration, which `deploy firebase` may have written into the site: it means nothing to Pages
# and names the Firebase project, so the branch never gets it.
LEFT_OUT = (hosting.FIREBASE_JSON, hosting.FIREBASERC)

# github.com itself: after the scheme's //, a user@ or nothing (scp-like), not as the end of another host's name.
_GITHUB_REMOTE = re.compile(r"(?:^|//|@)(?:www\.|ssh\.)?github\.com(?::\d+)?[:/](?P<owner>[^/]+)/(?P<repo>[^/]+?)"
                            r"(?:\.git)?/?$", re.I)


@dataclass(frozen=True)
class PagesResult:
    url: str | None  # where Pages will serve the site; None for a remote not on github.com
    branch: str
    remote: str
    commit: str
    changed: bool  # False: the branch already held exactly this site
    pushed: bool
    dry_run: bool = False  # True: checked only; nothing was committed or pushed (changed/pushed False; commit: the
    # branch tip the deploy would commit onto, or "")
    files: int = 0  # files the branch holds (or would hold): the site without its .br/.gz copies
    remote_has_branch: bool = False  # (dry run) the branch exists, here or on the remote: the deploy adds to it
    # (dry run) the remote's branch has commits not fetched here, so whether it holds files no deploy wrote, or
    # diverged from the local one, cannot be told without a fetch, which a dry run does not make; the deploy
    # fetches and checks
    unfetched: bool = False
    # (dry run) the branch the deploy would commit onto (the local one when it is ahead of the remote's, else the
    # remote's) already holds exactly what the deploy would commit: it would commit nothing. None: unknown (no such
    # branch, or its tip is not fetched here).
    unchanged: bool | None = None
    # (dry run) the local branch has commits the remote lacks (a deploy whose push failed): the deploy pushes them
    unpushed: bool = False


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


def publish(site: Path, *, remote: str = "origin", branch: str = "gh-pages", message: str | None = None,
            cname: str | None = None, repo: Path | None = None, dry_run: bool = False) -> PagesResult:
    """Commit ``site`` to ``branch`` of the git repository at ``repo`` (default: the current
    directory) with ghp-import, and push it to ``remote`` unless the remote already has it.

    ``dry_run``: run every check (the site against report.json, the repository, the remote, which
    must answer) and return what would be published, changing nothing: no fetch, commit or push.
    Raises :class:`~builder.errors.DeployError` in one line naming the file, repository or remote."""
    data = check_site(site, hosting.GITHUB_PAGES, PAGES_FILE_LIMIT, PAGES_SITE_LIMIT)
    cname = hosting.check_cname(cname) if cname else data.cname
    git = _Git(repo or Path.cwd())
    git.require_repo()
    git.require_pages_branch(branch, remote)
    remote_url = git.remote_url(remote)
    published = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} - set(LEFT_OUT)
    files = len({p for p in published if not precompress.is_copy(p)} | {".nojekyll"} | ({"CNAME"} if cname else set()))
    if dry_run:
        tip, local = git.remote_tip(remote, branch), git.rev(f"refs/heads/{branch}")
        for commit, here in ((local, True), (tip, False)):
            git.require_deployed(commit, branch, remote, here)
        git.require_not_diverged(branch, remote, local, tip)
        has_branch = tip is not None or local is not None  # the deploy commits onto the local one if any
        unfetched = tip is not None and not git.has_commit(tip)
        # What the deploy commits onto: the local branch when the remote's tip is in it (a deploy whose push
        # failed left it ahead), else the remote's tip, which the deploy catches up to.
        ahead = local is not None and (tip is None or (git.has_commit(tip) and git._is_ancestor(tip, local)))
        held = local if ahead else tip if tip is not None and git.has_commit(tip) else None
        unchanged = None if held is None else git.files_of(held) == _branch_files(git, site, cname)
        _warn_if_cname_dropped(git, held, branch, cname)
        _warn_if_added_files_dropped(git, held, branch, published)
        return PagesResult(url=pages_url(remote_url, cname), branch=branch, remote=remote, commit=held or "",
                           changed=False, pushed=False, dry_run=True, files=files, remote_has_branch=has_branch,
                           unfetched=unfetched, unchanged=unchanged, unpushed=ahead and local != tip)
    remote_tip = git.fetch(remote, branch)
    # Both, before either moves, as the dry run does.
    for commit, here in ((git.rev(f"refs/heads/{branch}"), True), (remote_tip, False)):
        git.require_deployed(commit, branch, remote, here)
    git.catch_up(branch, remote, remote_tip)
    before = git.rev(f"refs/heads/{branch}")
    _warn_if_cname_dropped(git, before, branch, cname)
    _warn_if_added_files_dropped(git, before, branch, published)
    with git.committer(), _without_copies(site) as source, _cwd(git.root), \
            tempfile.TemporaryFile() as said, redirect_stdout(io.BytesIO()):
        # ghp-import's commit step alone: its ghp_import() first resets the local branch to the remote-tracking
        # one ("rebase"), which drops a commit whose push the remote refused; fetch and catch_up did that part.
        # What git fast-import says goes to `said`, for the error line; ghp-import's own "Failed to process
        # commit." (bytes, to sys.stdout) goes nowhere.
        opts = {option["dest"]: option["default"] for _, option in ghp_import.options()}
        opts.update(branch=branch, mesg=message or default_message(data), nojekyll=True, cname=cname, push=False)
        interrupts.raise_if_seen()  # the local branch moves next: not after a swallowed Ctrl-C
        try:
            importer = _ImportGit(said, use_shell=opts["use_shell"])
            importer.check_repo()
            ghp_import.run_import(importer, str(source), **opts)
        except ghp_import.GhpError as e:
            raise DeployError(f"{git.root}: ghp-import failed: {e.message}") from e
        after = git.rev(f"refs/heads/{branch}")
        if after is None or after == before:
            said.seek(0)
            reason = _reason(said.read().decode(errors="replace"), importer.pipe.returncode)
            raise DeployError(f"{git.root}: git fast-import could not commit {site} to {branch}: {reason}")
    changed = before is None or git.tree(after) != git.tree(before)
    if not changed:
        git.run("update-ref", f"refs/heads/{branch}", before, after)  # drop the empty commit
        after = before
    pushed = after != remote_tip
    if pushed:
        interrupts.raise_if_seen()
        git.run("push", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return PagesResult(url=pages_url(remote_url, cname), branch=branch, remote=remote, commit=after,
                       changed=changed, pushed=pushed, files=files)


def _warn_if_cname_dropped(git: "_Git", commit: str | None, branch: str, cname: str | None) -> None:
    """Say so when ``branch`` (at ``commit``) has a CNAME file and this deploy writes none: GitHub Pages then
    turns the custom domain off."""
    if commit is None or cname:
        return
    done = git.run("show", f"{commit}:CNAME", check=False)
    domain = done.stdout.strip() if done.returncode == 0 else ""
    if domain:
        log.warning("%s serves the custom domain %s (its CNAME file), and this deploy has no --cname, so GitHub "
                    "Pages will stop serving it there; pass --cname %s to keep it", branch, domain, domain)


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
            raise DeployError(f"git {args[0]} failed in {self.root}: {_reason(done.stderr, done.returncode)}")
        return done

    def require_repo(self) -> None:
        if not self.where.is_dir():
            raise DeployError(f"{self.where}: no such directory")
        done = self.run("rev-parse", "--show-toplevel", check=False)
        if done.returncode != 0 and self.run("rev-parse", "--is-bare-repository", check=False).stdout.strip() == "true":
            raise DeployError(f"{self.where}: a bare repository (no working tree); run deploy in a clone of it, whose "
                              "origin it then is: git clone " + shlex.quote(str(self.where)) + " work && cd work")
        if done.returncode != 0:
            raise DeployError(f"{self.where}: not a git repository; deploy github-pages publishes to a branch of "
                              "the repository you run it in (git init, git remote add origin URL)")
        self.root = Path(done.stdout.strip())

    def require_pages_branch(self, branch: str, remote: str = "origin") -> None:
        """Refuse a branch name git would refuse, and the branch checked out here (deploy replaces the
        branch's whole tree with the site: it must never be the branch you work on)."""
        # git's rules for branch names, and HEAD, which `git branch` refuses besides.
        done = self.run("check-ref-format", "--branch", branch, check=False)
        if done.returncode != 0 or done.stdout.strip() != branch or branch == "HEAD":
            raise DeployError(f"--branch {branch!r}: not a valid git branch name")
        if branch == "@":  # git reads "@" as HEAD in most commands: a branch of that name is a trap
            raise DeployError("--branch '@': git reads '@' as HEAD, the commit checked out here; name the Pages "
                              "branch otherwise (the default is gh-pages)")
        if branch.startswith("refs/"):  # git would make refs/heads/refs/heads/x of it
            raise DeployError(f"--branch {branch!r}: give the branch's short name "
                              f"({branch.removeprefix('refs/heads/')!r}), not its full ref")
        current = self.run("symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
        if current == f"refs/heads/{branch}":
            other = "pages" if branch == "gh-pages" else "gh-pages"
            raise DeployError(f"{self.root}: {branch} is the branch checked out here, and deploy would replace its "
                              f"files with the site; check out another branch, or publish to a branch of its own "
                              f"(--branch {other})")
        # origin/gh-pages: the remote-tracking branch's name. git would make a local branch of it beside that one
        # (every later `git log origin/gh-pages` then "ambiguous"), and push a branch of that name to the remote.
        if branch.startswith(f"{remote}/") or self.rev(f"refs/remotes/{branch}") is not None:
            shown = branch.split("/", 1)[1]
            raise DeployError(f"--branch {branch!r}: a remote-tracking branch's name; give the branch's own "
                              f"(--branch {shown!r}, with --remote naming the remote)")
        # Another worktree of this repository on the branch: moving the branch under it would leave its
        # files as staged changes that undo the deploy. git itself refuses to move such a branch.
        worktree = None
        for line in self.run("worktree", "list", "--porcelain", check=False).stdout.splitlines():
            if line.startswith("worktree "):
                worktree = line.removeprefix("worktree ")
            elif line == f"branch refs/heads/{branch}":
                raise DeployError(f"{worktree}: {branch} is checked out in this worktree of the repository, and "
                                  f"deploy would move the branch under it; remove it (git worktree remove "
                                  f"{worktree}) or publish to another --branch")

    def require_deployed(self, commit: str | None, branch: str, remote: str, here: bool) -> None:
        """Refuse to replace ``commit`` (the tip of ``branch`` here, or ``here=False`` of ``remote``'s; None: no
        branch yet) unless a deploy made it: its tree holds a browsernet build's report.json. Deploy replaces the
        branch's whole tree, so a branch of sources (``--branch main``) would lose them on ``remote`` too. A tip
        not fetched here (dry run) is skipped."""
        if commit is None or self.run("cat-file", "-e", f"{commit}^{{tree}}", check=False).returncode != 0:
            return
        names = self.run("ls-tree", "--name-only", commit).stdout.split("\n")
        if report.REPORT_FILE in names and self._written_by_browsernet(commit):
            return
        shown = ", ".join(n for n in names[:4] if n) + (" and more" if len([n for n in names if n]) > 4 else "")
        which = f"the local {branch}" if here else f"{remote}/{branch}"
        raise DeployError(f"{self.root}: {which} holds files that no deploy wrote ({shown or 'an empty tree'}), "
                          f"and deploy would replace them with the site and push that to {remote}; publish to a branch of "
                          f"its own (--branch NAME), or delete {which} first if its files can go")

    def _written_by_browsernet(self, commit: str) -> bool:
        """Whether ``commit``'s report.json is a browsernet build's (its ``generator``): a project's own
        report.json (test figures, a coverage report) at the root of a branch of sources is not."""
        shown = self.run("show", f"{commit}:{report.REPORT_FILE}", check=False)
        try:
            return shown.returncode == 0 and report.is_build_report(json.loads(shown.stdout))
        except ValueError:
            return False

    def catch_up(self, branch: str, remote: str, remote_tip: str | None) -> None:
        """Put the local ``branch`` at ``remote``'s tip when it is missing or behind (someone else deployed),
        so that the new commit goes on top and the push is a fast-forward. Refuses diverged branches."""
        local = self.rev(f"refs/heads/{branch}")
        if remote_tip is None or local == remote_tip:
            return
        if local is None or self._is_ancestor(local, remote_tip):
            self.run("update-ref", f"refs/heads/{branch}", remote_tip, *([local] if local else []))
        else:
            self.require_not_diverged(branch, remote, local, remote_tip)

    def require_not_diverged(self, branch: str, remote: str, local: str | None, remote_tip: str | None) -> None:
        """Refuse when the local ``branch`` and ``remote``'s tip each have commits the other lacks. A tip not
        fetched here (a dry run fetches nothing) cannot be told: the deploy fetches it and checks again."""
        if local is None or remote_tip is None or local == remote_tip:
            return
        if not self.has_commit(remote_tip):
            return
        if not self._is_ancestor(local, remote_tip) and not self._is_ancestor(remote_tip, local):
            only_here = self.run("rev-list", "--count", f"{remote_tip}..{local}").stdout.strip()
            raise DeployError(f"{self.root}: the local {branch} and {remote}/{branch} have diverged (the local one has "
                              f"{only_here} commit(s) that {remote}'s lacks); to drop those and publish on top of "
                              f"{remote}'s, run 'git branch -f {branch} {remote}/{branch}' and deploy again")

    def has_commit(self, commit: str) -> bool:
        return self.run("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0

    def _is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def remote_url(self, remote: str) -> str:
        if not remote.strip():
            raise DeployError("--remote: give a remote's name (git remote -v lists them; the default is origin)")
        done = self.run("remote", "get-url", remote, check=False)
        if done.returncode != 0:
            looks_like_url = "/" in remote or ":" in remote
            raise DeployError(f"{self.root}: no git remote named {remote!r}; " + (
                f"--remote takes a remote's name, not its URL: add it with 'git remote add pages {remote}' and "
                "pass --remote pages" if looks_like_url else
                f"add it with 'git remote add {remote} URL' or name another with --remote (git remote -v lists them)"))
        return done.stdout.strip()

    def remote_tip(self, remote: str, branch: str) -> str | None:
        """``remote``'s ``branch`` tip (None if absent), asking the remote, changing nothing here."""
        listing = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}")
        return listing.stdout.split()[0] if listing.stdout.strip() else None

    def fetch(self, remote: str, branch: str) -> str | None:
        """Bring ``remote``'s ``branch`` into ``refs/remotes/remote/branch``; return its tip (None if absent)."""
        tip = self.remote_tip(remote, branch)
        if tip is not None:
            self.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        return tip

    def rev(self, ref: str) -> str | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return done.stdout.strip() or None

    def tree(self, commit: str) -> str:
        return self.run("rev-parse", f"{commit}^{{tree}}").stdout.strip()

    def files_of(self, commit: str) -> dict[str, str]:
        """Every file in ``commit``'s tree: path -> blob id."""
        listing = self.run("ls-tree", "-r", "-z", commit).stdout
        return {entry.split("\t", 1)[1]: entry.split()[2] for entry in listing.split("\0") if entry}

    def blob_ids(self, folder: Path) -> dict[str, str]:
        """Every file under ``folder``: path from it -> the blob id git would give it (nothing is written)."""
        paths = sorted(p for p in folder.rglob("*") if p.is_file())
        done = subprocess.run(["git", "hash-object", "--stdin-paths"], cwd=self.root, capture_output=True, text=True,
                              input="".join(f"{p}\n" for p in paths))
        if done.returncode != 0:
            raise DeployError(f"git hash-object failed in {self.root}: {_reason(done.stderr, done.returncode)}")
        return {p.relative_to(folder).as_posix(): blob for p, blob in zip(paths, done.stdout.split())}

    def blob_id(self, data: bytes) -> str:
        done = subprocess.run(["git", "hash-object", "--stdin"], cwd=self.root, capture_output=True, input=data)
        return done.stdout.decode().strip()

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


class _ImportGit(ghp_import.Git):
    """ghp-import's git, with git fast-import's messages written to the file ``said`` instead of the terminal."""

    def __init__(self, said, **kwargs) -> None:
        super().__init__(**kwargs)
        self.said = said

    def open(self, *args, **kwargs):
        if args and args[0] == "fast-import":
            kwargs.update(stdout=self.said, stderr=self.said)
        return super().open(*args, **kwargs)


def _reason(stderr: str, returncode: int) -> str:
    """git's reason in one line: a push's rejection (``! [rejected] … (non-fast-forward)``, with the remote
    hook's first message), else the first ``fatal:``/``error:`` line, with the transport's own first line when
    one came before it (ssh's "Permission denied (publickey)." or "Could not resolve hostname", which git's
    "Could not read from remote repository" only sums up; the last, as ssh prints notices first)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit code {returncode}"
    rejected = next((line for line in lines if "rejected]" in line), None)
    if rejected:
        said = next((line for line in lines if line.startswith("remote:") and line != "remote:"), None)
        return rejected.lstrip("! ") + (f"; {said}" if said else "")
    first = next((i for i, line in enumerate(lines) if line.startswith(("fatal:", "error:"))), None)
    if first is None:
        return lines[0]
    # ssh's error is its last line: before it come its notices ("Warning: Permanently added ...", a "** WARNING"
    # or an "@@@" banner).
    cause = next((line for line in reversed(lines[:first])
                  if not line.lower().startswith(("remote:", "hint:", "warning:", "**", "@"))), None)
    return lines[first] + (f" ({cause})" if cause else "")


def _warn_if_added_files_dropped(git: "_Git", commit: str | None, branch: str, site_files: set[str]) -> None:
    """Say so when ``branch`` (at ``commit``, a deploy's) holds files that its deploy did not write (not in its
    report.json, nor ``.nojekyll`` or ``CNAME``): committed to the branch by hand (a 404.html, a search engine's
    verification file), which this deploy, replacing the branch's files with the site's (``site_files``), drops."""
    if commit is None:
        return
    shown = git.run("show", f"{commit}:{report.REPORT_FILE}", check=False)
    try:
        written = set(json.loads(shown.stdout).get("files") or {}) if shown.returncode == 0 else None
    except (ValueError, AttributeError):
        written = None
    if written is None:
        return
    added = sorted(set(git.files_of(commit)) - written - site_files
                   - {report.REPORT_FILE, ".nojekyll", "CNAME", *LEFT_OUT})
    if added:
        log.warning("%s holds %s, which no build wrote (added to the branch by hand); this deploy replaces the "
                    "branch's files with the site's, so they go: put them into the site folder's build instead",
                    branch, named(added))


def _branch_files(git: "_Git", site: Path, cname: str | None) -> dict[str, str]:
    """What a deploy of ``site`` commits, as path -> blob id: the site without its copies and Firebase's
    files (:func:`_without_copies`), with ghp-import's empty ``.nojekyll`` and its ``CNAME``."""
    with _without_copies(site) as staged:
        files = git.blob_ids(staged)
    files[".nojekyll"] = git.blob_id(b"")
    if cname:
        files["CNAME"] = git.blob_id(cname.encode())
    return files


@contextmanager
def _without_copies(site: Path) -> Iterator[Path]:
    """A temporary copy of ``site`` without its pre-compressed copies and Firebase's config (which ``deploy
    firebase`` may have written there: it means nothing to Pages, and names the Firebase project), for
    ghp-import, which takes a whole folder."""
    with tempfile.TemporaryDirectory(prefix="browsernet-pages-") as tmp:
        staged = Path(tmp) / "site"
        try:
            shutil.copytree(site, staged, symlinks=True,  # check_site refuses links; never copy what one leads to
                            ignore=shutil.ignore_patterns(*precompress.COPY_PATTERNS, *LEFT_OUT))
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
