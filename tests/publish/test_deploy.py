"""`browsernet deploy` against real git repositories (a bare remote in a temp dir) and the real firebase CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder import __version__
from builder.publish import github_pages
from builder.site import hosting
from builder.site import precompress
from builder.site import vendor
from builder.cli import cli
from tests.conftest import _build, built_copy, retrain


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A project repository whose 'origin' is a bare repository in the temp dir; the cwd is the project."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    work = tmp_path / "project"
    work.mkdir()
    git(work, "init", "--quiet")
    git(work, "config", "user.name", "Test User")
    git(work, "config", "user.email", "test@example.com")
    git(work, "remote", "add", "origin", str(bare))
    monkeypatch.chdir(work)
    return work, bare


@pytest.fixture
def pages_site(publish_sites, tmp_path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(publish_sites["github-pages"], site)
    return site


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def checkout(bare: Path, branch: str, into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", "--branch", branch, str(bare), str(into)], check=True)
    return into


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def test_publishes_exactly_the_site_plus_nojekyll(repo, pages_site, tmp_path):
    work, bare = repo
    result = run("deploy", "github-pages", str(pages_site))
    assert result.exit_code == 0, result.output
    assert "Committed" in result.output and "pushed it to origin" in result.output
    assert "not a github.com repository" in result.output  # a bare path has no Pages URL...
    assert f"browsernet verify URL --expect {pages_site}" in result.output  # ...but verify still has its command
    published = files_of(checkout(bare, "gh-pages", tmp_path / "checkout"))
    site = files_of(pages_site)
    copies = {path for path in site if precompress.is_copy(path)}
    assert copies and f"vendor/{vendor.BUNDLE}.br" in copies  # the build wrote them; Pages compresses itself
    # Byte for byte, report.json and sw.js included; not the copies.
    assert published == {p: data for p, data in site.items() if p not in copies}
    assert published[".nojekyll"] == b""
    assert any(p.startswith("model/") and hosting.is_hashed(p) for p in published)
    message = git(bare, "log", "-1", "--format=%B", "gh-pages")
    assert f"browsernet {__version__}" in message and "fine_tuned.keras" in message
    assert git(work, "status", "--porcelain") == ""  # the user's working tree is untouched


def test_firebase_config_in_the_site_is_not_published_to_pages(repo, publish_sites, tmp_path):
    """`deploy firebase --dry-run` writes firebase.json and .firebaserc into a site built for any host;
    they mean nothing to GitHub Pages and name the Firebase project, so Pages never gets them."""
    _, bare = repo
    pages_site = tmp_path / "generic"
    shutil.copytree(publish_sites["any-host"], pages_site)
    firebase = run("deploy", "firebase", str(pages_site), "--dry-run", "--project", "demo-x")
    assert firebase.exit_code == 0, firebase.output
    # The command it says to run names a firebase CLI that runs from there (npm ci's, which is not on PATH).
    said = next(line for line in firebase.output.splitlines() if " && " in line).split(" && ")[1].split()[0]
    assert shutil.which(said), f"{said}: the printed command names a CLI that is not there"
    assert (pages_site / "firebase.json").is_file() and (pages_site / ".firebaserc").is_file()
    dry = run("deploy", "github-pages", str(pages_site), "--dry-run").output
    result = run("deploy", "github-pages", str(pages_site))
    assert result.exit_code == 0, result.output
    published = files_of(checkout(bare, "gh-pages", tmp_path / "checkout"))
    assert "firebase.json" not in published and ".firebaserc" not in published
    assert f"commit {len(published)} files" in dry  # the dry run did not count them either
    assert "index.html" in published


def test_deploying_twice_makes_no_new_commit(repo, pages_site):
    _, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    first = git(bare, "rev-parse", "gh-pages")
    again = run("deploy", "github-pages", str(pages_site))
    assert again.exit_code == 0, again.output
    assert "Nothing to deploy" in again.output
    quiet = run("deploy", "github-pages", str(pages_site), "-q")  # -q: only errors
    assert quiet.exit_code == 0 and quiet.output == ""
    assert git(bare, "rev-parse", "gh-pages") == first
    assert git(bare, "rev-list", "--count", "gh-pages") == "1"


def test_a_change_is_a_new_commit_on_top(repo, pages_site, tmp_path):
    _, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    result = run("deploy", "github-pages", str(pages_site), "--cname", "classify.example.com", "-m", "custom")
    assert result.exit_code == 0, result.output
    assert "https://classify.example.com/" in result.output
    assert git(bare, "rev-list", "--count", "gh-pages") == "2"
    assert git(bare, "log", "-1", "--format=%s", "gh-pages") == "custom"
    published = checkout(bare, "gh-pages", tmp_path / "checkout")
    assert (published / "CNAME").read_text().strip() == "classify.example.com"


def test_a_deploy_that_drops_the_custom_domain_says_so(repo, pages_site):
    """Without --cname the branch loses its CNAME file, and GitHub Pages its custom domain: said, dry run too."""
    assert run("deploy", "github-pages", "--cname", "classify.example.com", str(pages_site)).exit_code == 0
    for args in (["--dry-run"], []):
        result = run("deploy", "github-pages", *args, str(pages_site))
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and "custom domain classify.example.com" in warnings[0], result.output
        assert "pass --cname classify.example.com to keep it" in warnings[0]
    again = run("deploy", "github-pages", "--cname", "classify.example.com", str(pages_site))
    assert again.exit_code == 0 and "warning:" not in again.output


def test_files_added_to_the_pages_branch_by_hand_are_said_to_go(repo, pages_site, tmp_path):
    """A 404.html or a search engine's verification file committed to gh-pages by hand vanished at the next deploy
    without a word (a CNAME there is warned about)."""
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    clone = checkout(bare, "gh-pages", tmp_path / "clone")
    (clone / "404.html").write_text("<h1>not here</h1>")
    (clone / "google123abc.html").write_text("google-site-verification: google123abc.html")
    git(clone, "add", ".")
    git(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "by hand")
    git(clone, "push", "--quiet", "origin", "gh-pages")
    git(work, "fetch", "--quiet", "origin")  # a dry run fetches nothing: it tells what it has here
    for args in (["--dry-run"], []):
        result = run("deploy", "github-pages", *args, str(pages_site))
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
        assert warnings == ["warning: gh-pages holds 404.html, google123abc.html, which no build wrote (added to the "
                            "branch by hand); this deploy replaces the branch's files with the site's, so they go: "
                            "put them into the site folder's build instead"], result.output
    again = run("deploy", "github-pages", str(pages_site))
    assert again.exit_code == 0 and "warning:" not in again.output  # said once, for the deploy that drops them


def test_a_branch_named_with_its_remote_is_refused(repo, pages_site):
    """--branch origin/gh-pages made a local branch of that name beside the remote-tracking one: 'ambiguous'."""
    work, bare = repo
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", "origin/gh-pages"),
                    "--branch 'origin/gh-pages': a remote-tracking branch's name; give the branch's own (--branch "
                    "'gh-pages', with --remote naming the remote)")
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--remote", ""), "--remote: give a remote's name")
    assert git(bare, "for-each-ref") == "" and git(work, "branch", "--list") == ""


def test_dry_run_checks_everything_and_changes_nothing(repo, pages_site):
    work, bare = repo
    refs_before = git(work, "for-each-ref")
    result = run("deploy", "github-pages", "--dry-run", str(pages_site))
    assert result.exit_code == 0, result.output
    assert "as a new branch gh-pages" in result.output
    assert git(bare, "for-each-ref") == "" and git(work, "for-each-ref") == refs_before  # no commit, fetch or push
    # After a real deploy, the dry run sees the branch on the remote, and still changes nothing.
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    tip = git(bare, "rev-parse", "gh-pages")
    dry = run("deploy", "github-pages", "--dry-run", str(pages_site)).output
    assert "gh-pages already holds this site, so deploy would commit nothing" in dry
    assert git(bare, "rev-parse", "gh-pages") == tip
    # Another custom domain is a change: the dry run counts what the deploy then commits.
    dry = run("deploy", "github-pages", "--dry-run", "--cname", "dry.example.com", str(pages_site)).output
    assert "onto the existing branch gh-pages" in dry
    assert git(bare, "rev-parse", "gh-pages") == tip
    assert run("deploy", "github-pages", "--cname", "dry.example.com", str(pages_site)).exit_code == 0
    published = git(bare, "ls-tree", "-r", "--name-only", "gh-pages").splitlines()
    assert f"commit {len(published)} files" in dry  # the count it announced is what a deploy commits


def test_after_a_refused_push_the_dry_run_says_what_the_deploy_then_does(repo, pages_site):
    """The remote refused the push (a hook, a network failure): the commit waits on the local branch. The dry run
    must describe the next deploy: no new commit, a push of that one."""
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    first = git(bare, "rev-parse", "gh-pages")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    refused = run("deploy", "github-pages", str(pages_site), "--cname", "next.example.com")
    assert refused.exit_code == 1 and "refused by policy" in refused.output, refused.output
    waiting = git(work, "rev-parse", "gh-pages")
    assert waiting != first and git(bare, "rev-parse", "gh-pages") == first
    hook.unlink()
    dry = run("deploy", "github-pages", "--dry-run", "--cname", "next.example.com", str(pages_site))
    assert dry.exit_code == 0, dry.output
    assert (f"the local gh-pages already holds this site, so deploy would commit nothing and push {waiting[:12]}, "
            "which origin lacks") in dry.output
    result = run("deploy", "github-pages", "--cname", "next.example.com", str(pages_site))
    assert result.exit_code == 0 and f"gh-pages already held this site; pushed {waiting[:12]}" in result.output, \
        result.output
    assert git(bare, "rev-parse", "gh-pages") == waiting


def test_deploy_builds_on_a_remote_branch_someone_else_moved(repo, pages_site, tmp_path):
    """A colleague (or CI) deployed since this clone last did: the new commit goes on top of theirs."""
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    colleague = checkout(bare, "gh-pages", tmp_path / "colleague")
    (colleague / "extra.txt").write_text("theirs\n")
    git(colleague, "add", "extra.txt")
    git(colleague, "-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "--quiet", "-m", "theirs")
    git(colleague, "push", "--quiet", "origin", "gh-pages")
    theirs = git(bare, "rev-parse", "gh-pages")
    result = run("deploy", "github-pages", str(pages_site), "-m", "ours")
    assert result.exit_code == 0, result.output
    assert git(bare, "rev-parse", "gh-pages~1") == theirs  # on top, a fast-forward
    assert git(bare, "log", "-1", "--format=%s", "gh-pages") == "ours"
    assert "extra.txt" not in git(bare, "ls-tree", "--name-only", "gh-pages")  # exactly the site again


def test_diverged_pages_branches_are_refused_with_the_fix(repo, pages_site, tmp_path):
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    colleague = checkout(bare, "gh-pages", tmp_path / "colleague")
    git(colleague, "-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "--quiet", "--allow-empty",
        "-m", "theirs")
    git(colleague, "push", "--quiet", "origin", "gh-pages")
    local = git(work, "commit-tree", "-m", "local", git(work, "rev-parse", "gh-pages^{tree}"), "-p", "gh-pages")
    git(work, "update-ref", "refs/heads/gh-pages", local)
    theirs = git(bare, "rev-parse", "gh-pages")
    # A dry run fetches nothing: it cannot see their commit yet, and says so instead of "checks out" alone.
    dry = run("deploy", "github-pages", str(pages_site), "--dry-run")
    assert dry.exit_code == 0 and "origin/gh-pages has commits not fetched here" in dry.output, dry.output
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "have diverged (the local one has 1 commit(s) "
                    "that origin's lacks); to drop those", "git branch -f gh-pages")
    assert git(bare, "rev-parse", "gh-pages") == theirs
    # Once their commit is here, the dry run refuses as the deploy does.
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--dry-run"), "have diverged")


def test_a_local_pages_branch_of_other_files_is_refused_as_such_not_as_diverged(repo, pages_site, tmp_path):
    """A local gh-pages with a draft of one's own (no deploy made it) while the remote's holds a deploy: the deploy
    and its dry run both say so, and neither suggests the 'git branch -f' that would orphan the draft."""
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    (work / "README").write_text("my project\n")
    git(work, "add", "README")
    git(work, "commit", "--quiet", "-m", "start")
    main = git(work, "branch", "--show-current")
    git(work, "branch", "-D", "gh-pages")
    git(work, "switch", "--quiet", "--orphan", "gh-pages")
    (work / "draft.html").write_text("<p>draft</p>\n")
    git(work, "add", "draft.html")
    git(work, "commit", "--quiet", "-m", "draft")
    draft = git(work, "rev-parse", "gh-pages")
    git(work, "switch", "--quiet", main)
    for dry_run in ((), ("--dry-run",)):
        result = run("deploy", "github-pages", str(pages_site), *dry_run)
        _one_line_error(result, "the local gh-pages holds files that no deploy wrote (draft.html)",
                        "delete the local gh-pages first")
        assert "branch -f" not in result.output
    assert git(work, "rev-parse", "gh-pages") == draft


def test_a_commit_git_cannot_make_is_one_line_with_gits_reason(repo, pages_site, capfd):
    """git fast-import fails (here: another git process holds the branch's lock): its reason, in one line,
    instead of its multi-line message on the terminal and an 'unexpected TypeError' from ghp-import."""
    work, bare = repo
    (work / ".git" / "refs" / "heads" / "gh-pages.lock").touch()
    _one_line_error(run("deploy", "github-pages", str(pages_site)),
                    "git fast-import could not commit", "cannot lock ref 'refs/heads/gh-pages'", "File exists")
    assert "Another git process" not in capfd.readouterr().err
    assert git(bare, "branch", "--list") == "" and git(work, "branch", "--list", "gh-pages") == ""
    (work / ".git" / "refs" / "heads" / "gh-pages.lock").unlink()
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0


def test_the_checked_out_branch_is_never_the_pages_branch(repo, pages_site):
    work, bare = repo
    (work / "README").write_text("my project\n")
    git(work, "add", "README")
    git(work, "commit", "--quiet", "-m", "start")
    branch = git(work, "branch", "--show-current")
    git(work, "push", "--quiet", "origin", branch)
    tip = git(bare, "rev-parse", branch)
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", branch),
                    f"{branch} is the branch checked out here", "(--branch gh-pages)")
    git(work, "checkout", "--quiet", "-b", "gh-pages")  # the Pages branch itself checked out: another name is said
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "gh-pages is the branch checked out here",
                    "check out another branch, or publish to a branch of its own (--branch pages)")
    assert git(bare, "rev-parse", branch) == tip and git(work, "status", "--porcelain") == ""


def test_a_pages_branch_checked_out_in_another_worktree_is_not_moved(repo, pages_site, tmp_path):
    """Moving a branch under a linked worktree leaves there staged changes that undo the deploy; git itself
    refuses to move such a branch, and so does deploy."""
    work, bare = repo
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0
    tip = git(work, "rev-parse", "gh-pages")
    git(work, "worktree", "add", "--quiet", str(tmp_path / "wt"), "gh-pages")
    _one_line_error(run("deploy", "github-pages", str(pages_site)),
                    "gh-pages is checked out in this worktree", "git worktree remove")
    assert git(work, "rev-parse", "gh-pages") == tip and git(tmp_path / "wt", "status", "--porcelain") == ""


def test_a_full_ref_as_branch_is_refused_with_its_short_name(repo, pages_site):
    work, bare = repo
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", "refs/heads/site"),
                    "give the branch's short name ('site')")
    assert git(bare, "for-each-ref") == ""


@pytest.mark.parametrize("own_report", [False, True], ids=["sources", "sources-with-a-report.json"])
def test_a_branch_of_sources_is_never_replaced_by_the_site(own_report, repo, pages_site):
    """Deploy replaces the branch's whole tree: a branch no deploy made (here the project's main, pushed,
    while a feature branch is checked out) keeps its files, on the remote and here, dry run or not; also
    when the project keeps a report.json of its own at the root (not a browsernet build's)."""
    work, bare = repo
    (work / "README").write_text("my project\n")
    git(work, "add", "README")
    if own_report:
        (work / "report.json").write_text('{"accuracy": 0.93}\n')
        git(work, "add", "report.json")
    git(work, "commit", "--quiet", "-m", "start")
    git(work, "branch", "-M", "main")
    git(work, "push", "--quiet", "origin", "main")
    git(work, "switch", "--quiet", "-c", "feature")
    tip = git(bare, "rev-parse", "main")
    for dry_run in ((), ("--dry-run",)):
        _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", "main", *dry_run),
                        "main holds files that no deploy wrote (README", "--branch NAME")
    assert git(bare, "rev-parse", "main") == tip and git(work, "rev-parse", "main") == tip
    assert run("deploy", "github-pages", str(pages_site)).exit_code == 0  # its own branch: fine


def test_a_dry_run_that_cannot_see_a_remote_branch_of_sources_says_so(repo, pages_site, tmp_path):
    """Someone else's branch 'docs' on the remote, never fetched here: the dry run cannot look inside it, so
    it does not say it checks out alone; the deploy fetches it and refuses to replace its files."""
    work, bare = repo
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(bare), str(other))
    git(other, "switch", "--quiet", "-c", "docs")
    (other / "README.md").write_text("the docs\n")
    git(other, "add", "README.md")
    git(other, "-c", "user.name=O", "-c", "user.email=o@example.com", "commit", "--quiet", "-m", "docs")
    git(other, "push", "--quiet", "origin", "docs")
    dry = run("deploy", "github-pages", str(pages_site), "--branch", "docs", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "origin/docs has commits not fetched here" in dry.output and "files that no deploy wrote" in dry.output
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", "docs"),
                    "origin/docs holds files that no deploy wrote (README.md)")
    assert git(bare, "ls-tree", "--name-only", "docs") == "README.md"


@pytest.mark.parametrize("branch, error", [("bad..name", "not a valid git branch name"),
                                           ("-x", "not a valid git branch name"),
                                           ("@", "git reads '@' as HEAD")])
def test_an_invalid_branch_name_is_one_line_and_leaves_nothing(branch, error, repo, pages_site):
    """"@" too: git reads it as HEAD in most commands, and a deploy made and pushed refs/heads/@."""
    work, bare = repo
    before = git(bare, "for-each-ref"), git(work, "for-each-ref")
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--branch", branch), error)
    assert not list((work / ".git").glob("fast_import_crash_*"))
    assert (git(bare, "for-each-ref"), git(work, "for-each-ref")) == before  # no branch made or pushed


def test_dry_run_still_refuses_a_damaged_site_and_an_unreachable_remote(repo, pages_site, tmp_path):
    work, _ = repo
    clean = tmp_path / "clean"
    shutil.copytree(pages_site, clean)
    shard = next(p for p in (pages_site / "model").iterdir() if p.suffix == ".bin")
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    _one_line_error(run("deploy", "github-pages", "--dry-run", str(pages_site)), shard.name, "sha256")
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    _one_line_error(run("deploy", "github-pages", "--dry-run", str(clean)), "git ls-remote failed", "gone.git")


def test_custom_branch_and_remote(repo, pages_site, tmp_path):
    work, _ = repo
    other = tmp_path / "other.git"
    git(tmp_path, "init", "--quiet", "--bare", str(other))
    git(work, "remote", "add", "mirror", str(other))
    result = run("deploy", "github-pages", str(pages_site), "--remote", "mirror", "--branch", "pages")
    assert result.exit_code == 0, result.output
    assert (checkout(other, "pages", tmp_path / "c") / "index.html").is_file()


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:Alice/classifier.git", "https://alice.github.io/classifier/"),
    ("https://github.com/alice/classifier", "https://alice.github.io/classifier/"),
    ("https://github.com/alice/alice.github.io.git", "https://alice.github.io/"),
    ("ssh://git@github.com/alice/classifier.git", "https://alice.github.io/classifier/"),
    ("/srv/git/classifier.git", None),
    ("https://notgithub.com/alice/classifier", None),  # another host whose name ends in github.com
])
def test_pages_url(remote, url):
    assert github_pages.pages_url(remote, None) == url


def _one_line_error(result, *fragments: str):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_missing_site(repo, tmp_path):
    _one_line_error(run("deploy", "github-pages", str(tmp_path / "nothing")), "does not exist", "build-site")


def test_not_a_browsernet_site(repo, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "index.html").write_text("hi")
    _one_line_error(run("deploy", "github-pages", str(folder)), "not a browsernet build")
    # A training output is told apart, with the command that makes its site (not a build-site into it).
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "train-report.json").write_text("{}")
    _one_line_error(run("deploy", "github-pages", str(trained)), "a browsernet train output, not a site",
                    f"browsernet build-site --model {trained / 'model.keras'} --out site")


def test_not_a_git_repository(pages_site, tmp_path, monkeypatch):
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find a repository above the temp dir
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "not a git repository")
    bare = tmp_path / "remote.git"  # where a push would go: deploying from there is a slip, said as such
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    monkeypatch.chdir(bare)
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "a bare repository (no working tree); run deploy "
                    f"in a clone of it, whose origin it then is: git clone {bare} work && cd work")


def test_no_such_remote(repo, pages_site, tmp_path):
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--remote", "upstream"),
                    "no git remote named 'upstream'", "git remote add upstream URL")
    # A URL where a name goes: the fix names it, instead of asking for the option just given.
    _one_line_error(run("deploy", "github-pages", str(pages_site), "--remote", str(tmp_path / "r.git")),
                    "takes a remote's name, not its URL", f"git remote add pages {tmp_path / 'r.git'}")


def test_unreachable_remote_is_one_clear_line(repo, pages_site, tmp_path):
    work, _ = repo
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "git ls-remote failed", "gone.git")


def test_an_ssh_remote_that_refuses_the_key_names_ssh_s_reason(repo, pages_site, tmp_path, monkeypatch):
    """git sums every ssh failure up as "Could not read from remote repository"; the cause (a key the host
    does not take, a host name that does not resolve) is the line ssh printed before it. The ssh client here
    answers as a server that refuses the key does (no network in the tests)."""
    work, _ = repo
    git(work, "remote", "set-url", "origin", "git@github.com:alice/dogs.git")
    monkeypatch.setenv("GIT_SSH_COMMAND", "sh -c 'echo \"Warning: Permanently added github.com (ED25519) to the "
                                          "list of known hosts.\" >&2; echo \"git@github.com: Permission denied "
                                          "(publickey).\" >&2; exit 255'")
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "git ls-remote failed",
                    "Could not read from remote repository", "Permission denied (publickey)")


def test_oversize_file_is_refused_before_any_commit(repo, pages_site):
    work, bare = repo
    big = pages_site / "model" / "huge.bin"
    with open(big, "wb") as f:  # sparse: 101 MiB on paper, nothing on disk
        f.truncate(101 * 1024 * 1024)
    _one_line_error(run("deploy", "github-pages", str(pages_site)), "huge.bin", "100 MiB")
    assert git(work, "branch", "--list", "gh-pages") == ""
    assert git(bare, "branch", "--list") == ""


def test_a_file_changed_after_the_build_is_refused(repo, pages_site):
    shard = next((pages_site / "model").glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[:-4])
    _one_line_error(run("deploy", "github-pages", str(pages_site)), shard.name, "changed since the build")


def test_a_flipped_byte_is_refused_before_any_git_command(repo, pages_site):
    work, bare = repo
    shard = next((pages_site / "model").glob("*.bin"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the content check can tell
    shard.write_bytes(bytes(data))
    _one_line_error(run("deploy", "github-pages", str(pages_site)), shard.name, "changed since the build", "sha256")
    assert git(work, "branch", "--list", "gh-pages") == ""
    assert git(bare, "branch", "--list") == ""


def test_a_report_without_a_files_sha256_is_refused(repo, pages_site):
    """With report.json's sha256 entry for index.html deleted, an edited page of the same size was published."""
    work, bare = repo
    report = json.loads((pages_site / "report.json").read_text())
    del report["sha256"]["index.html"]
    (pages_site / "report.json").write_text(json.dumps(report))
    page = pages_site / "index.html"  # unchanged: a file the report cannot vouch for is refused
    _one_line_error(run("deploy", "github-pages", str(pages_site)), f"{page}: report.json records no sha256 for it")
    assert git(bare, "branch", "--list") == ""


def test_a_flipped_byte_is_refused_before_firebase_config(publish_sites, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    (site / "firebase.json").unlink()
    page = site / "index.html"
    data = page.read_bytes()
    assert data.endswith(b">\n")
    page.write_bytes(data[:-1] + b" ")  # same size, different bytes
    _one_line_error(run("deploy", "firebase", str(site), "--dry-run"), "index.html", "sha256")
    assert not (site / "firebase.json").exists()


def test_stale_site_is_refused(repo, sequential_keras, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "fresh"
    _build(site, model=str(sequential_keras), labels=labels, preprocess="unit")
    labels.write_text("n\ne\ns\nw\n")
    _one_line_error(run("deploy", "github-pages", str(site)), "stale", str(labels.resolve()), "rebuild")


def test_a_deleted_source_is_named_and_the_site_still_deploys(repo, sequential_keras, tmp_path):
    """A site whose model or labels file is gone (a site built in CI, or inputs tidied away) cannot be compared
    with them: deploy says so and publishes the site, whose own files it has checked; a changed one is refused."""
    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "fresh"
    _build(site, model=str(sequential_keras), labels=labels, preprocess="unit")
    labels.rename(tmp_path / "moved.txt")
    result = run("deploy", "github-pages", str(site))
    assert result.exit_code == 0, result.output
    assert f"warning: the labels file {labels.resolve()} is not there" in result.output
    assert "Committed" in result.output and "Traceback" not in result.output
    _, bare = repo
    assert git(bare, "ls-tree", "--name-only", "gh-pages", "index.html") == "index.html"


def test_the_published_site_names_no_folder_of_the_build_machine(repo, sequential_keras, tmp_path):
    """report.json is published with the site: the build machine's folders (and the user's name in them) stay
    on it. Deploy still knows where the inputs are (a record in the user's cache), so a changed one is caught."""
    from builder.report import sha256_of

    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "fresh"
    _build(site, model=str(sequential_keras), labels=labels, preprocess="unit")
    result = run("deploy", "github-pages", str(site))
    assert result.exit_code == 0, result.output
    _, bare = repo
    published = git(bare, "show", "gh-pages:report.json")
    for text in (published, git(bare, "log", "-1", "--format=%B", "gh-pages")):
        assert "pytest-of-" not in text and f"{Path.home()}/" not in text, text[:2000]
    data = json.loads(published)
    assert data["sources"]["labels"] == {"name": "labels.txt", "sha256": sha256_of(labels)}
    assert data["options"]["model"] == sequential_keras.name
    labels.write_text("n\ne\ns\nw\n")
    _one_line_error(run("deploy", "github-pages", str(site), "--dry-run"), "stale", str(labels.resolve()))


def test_the_same_model_saved_again_is_not_stale_and_a_changed_one_is(repo, sequential_keras, tmp_path):
    """A .keras file records the time it was saved: `browsernet train` run again with the same command writes
    the same model with another time. Freshness is the model's content (architecture and weights)."""
    from tests.helpers import keras

    model_file, _, site = built_copy(sequential_keras, tmp_path)
    keras.models.load_model(model_file, compile=False).save(model_file)
    assert model_file.read_bytes() != sequential_keras.read_bytes()  # another save time
    result = run("deploy", "github-pages", str(site), "--dry-run")
    assert result.exit_code == 0 and "stale" not in result.output, result.output
    retrain(model_file)
    _one_line_error(run("deploy", "github-pages", str(site), "--dry-run"), "stale", str(model_file.resolve()))


def test_a_site_built_on_another_machine_deploys_with_a_warning(repo, sequential_keras, tmp_path, monkeypatch):
    """Its report.json names its inputs but not where they were: deploy says it cannot check them."""
    labels = tmp_path / "labels.txt"
    labels.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "fresh"
    _build(site, model=str(sequential_keras), preprocess="unit", labels=labels)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-machine"))
    result = run("deploy", "github-pages", str(site), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"warning: the model file {sequential_keras.name} is not known on this machine" in result.output


def test_a_project_moved_as_a_whole_is_not_stale(repo, sequential_keras, tmp_path):
    """The site and its inputs moved (or cloned) together keep their paths from the site: unchanged, so
    deployable; a changed input at the new place is still stale."""
    project = tmp_path / "project-a"
    (project / "models").mkdir(parents=True)
    shutil.copyfile(sequential_keras, project / "models" / "m.keras")
    (project / "models" / "labels.txt").write_text("north\neast\nsouth\nwest\n")
    _build(project / "site", model=str(project / "models" / "m.keras"), labels=project / "models" / "labels.txt",
           preprocess="unit")
    moved = project.rename(tmp_path / "project-b")
    result = run("deploy", "github-pages", str(moved / "site"), "--dry-run")
    assert result.exit_code == 0, result.output
    (moved / "models" / "labels.txt").write_text("n\ne\ns\nw\n")
    _one_line_error(run("deploy", "github-pages", str(moved / "site"), "--dry-run"),
                    f"stale: the labels file {moved / 'models' / 'labels.txt'} changed")


@pytest.mark.parametrize("host", ["github-pages", "firebase"])
def test_files_the_build_did_not_write_are_never_published(host, repo, publish_sites, tmp_path):
    work, bare = repo
    site = tmp_path / "site"
    shutil.copytree(publish_sites[host], site)
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (site / ".env").write_text("TOKEN=secret\n")
    (site / "google123.html").write_text("google-site-verification\n")
    args = ["--dry-run", "--project", "demo-x"] if host == "firebase" else []
    _one_line_error(run("deploy", host, str(site), *args), ".env, .git/HEAD, google123.html",
                    "not written by the build", "move them out")
    assert git(bare, "branch", "--list") == ""  # nothing pushed
    for name in (".git", ".env", "google123.html"):
        shutil.rmtree(site / name) if name == ".git" else (site / name).unlink()
    assert run("deploy", host, str(site), *args).exit_code == 0


@pytest.mark.parametrize("host", ["github-pages", "firebase"])
def test_a_cname_the_build_did_not_write_is_never_published(host, repo, publish_sites, tmp_path):
    """A CNAME file decides the domain GitHub Pages serves the site at: one the build did not write (added to the
    folder afterwards) is refused like any stray file, with the rebuild that would write it, and nothing is
    pushed; an explicit --cname does not wave it through either."""
    work, bare = repo
    site = tmp_path / "site"
    shutil.copytree(publish_sites[host], site)
    (site / "CNAME").write_text("evil.example.com\n")
    args = ["--dry-run", "--project", "demo-x"] if host == "firebase" else []
    fix = "--cname evil.example.com" if host == "github-pages" else "remove the file"
    _one_line_error(run("deploy", host, str(site), *args), "CNAME: names the custom domain evil.example.com",
                    "the build wrote no CNAME", fix)
    if host == "github-pages":
        _one_line_error(run("deploy", host, str(site), "--cname", "mine.example.com"), "the build wrote no CNAME")
        _one_line_error(run("deploy", host, str(site), "--dry-run"), "the build wrote no CNAME")
    assert git(bare, "branch", "--list") == ""  # nothing pushed
    (site / "CNAME").unlink()
    assert run("deploy", host, str(site), *args).exit_code == 0
    if host == "github-pages":
        assert "CNAME" not in files_of(checkout(bare, "gh-pages", tmp_path / "checkout"))


def test_a_cname_edited_after_the_build_is_refused_and_the_builds_domain_is_published(repo, sequential_keras,
                                                                                        tmp_path):
    work, bare = repo
    four = tmp_path / "labels.txt"
    four.write_text("north\neast\nsouth\nwest\n")
    site = tmp_path / "site"
    _build(site, model=str(sequential_keras), labels=four, preprocess="unit", target="github-pages",
           cname="classify.example.com")
    built = (site / "CNAME").read_text()
    (site / "CNAME").write_text("evil.example.com\n")
    _one_line_error(run("deploy", "github-pages", str(site)), "CNAME: changed since the build")
    assert git(bare, "branch", "--list") == ""
    (site / "CNAME").write_text(built)
    result = run("deploy", "github-pages", str(site))
    assert result.exit_code == 0, result.output
    assert "https://classify.example.com/" in result.output
    published = checkout(bare, "gh-pages", tmp_path / "checkout")
    assert (published / "CNAME").read_text().strip() == "classify.example.com"


@pytest.mark.parametrize("host", ["github-pages", "firebase"])
def test_what_a_symbolic_link_leads_to_is_never_published(host, repo, publish_sites, tmp_path):
    """A linked folder is one rglob does not enter, and copying the site followed it: its files, from anywhere
    on this machine, were committed. A link to a file or a folder is refused, and nothing is pushed."""
    work, bare = repo
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "credentials").write_text("TOKEN=secret\n")
    site = tmp_path / "site"
    shutil.copytree(publish_sites[host], site)
    (site / "notes").symlink_to(secret, target_is_directory=True)
    args = ["--dry-run", "--project", "demo-x"] if host == "firebase" else []
    _one_line_error(run("deploy", host, str(site), *args), "notes: a symbolic link", "remove it")
    (site / "notes").unlink()
    (site / "index.html").rename(site / "real-index.html")
    (site / "index.html").symlink_to(site / "real-index.html")
    _one_line_error(run("deploy", host, str(site), *args), "index.html: a symbolic link")
    assert git(bare, "branch", "--list") == ""  # nothing pushed


def test_a_site_built_for_firebase_is_not_sent_to_pages(repo, publish_sites):
    _one_line_error(run("deploy", "github-pages", str(publish_sites["firebase"])), "--target firebase")


def test_build_for_pages_writes_its_files(publish_sites):
    site = publish_sites["github-pages"]
    assert (site / ".nojekyll").is_file()
    data = json.loads((site / "report.json").read_text())
    assert data["options"]["target"] == "github-pages"
    assert set(data["sources"]) == {"model", "labels"}


def test_firebase_dry_run_writes_config(publish_sites, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    (site / "firebase.json").unlink()  # a site built for no host, or a config the user deleted: deploy writes it
    result = run("deploy", "firebase", str(site), "--project", "demo-other", "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads((site / "firebase.json").read_text()) == hosting.firebase_config()
    assert hosting.firebase_project(site) == "demo-other"
    assert "firebase deploy --only hosting --project demo-other" in result.output
    assert f"Wrote {site / 'firebase.json'} and {site / '.firebaserc'} (project demo-other)" in result.output
    # Without --project, the build's --firebase-project again: not what the last --project left in .firebaserc.
    again = run("deploy", "firebase", str(site), "--dry-run")
    assert again.exit_code == 0 and "--project demo-browsernet" in again.output, again.output
    assert hosting.firebase_project(site) == "demo-browsernet"
    bad = run("deploy", "firebase", str(site), "--project", "Bad Project!", "--dry-run")
    _one_line_error(bad, "--project 'Bad Project!': not a Firebase project ID")


def test_firebase_deploy_keeps_what_the_user_added_to_firebase_json_and_firebaserc(publish_sites, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    config = json.loads((site / "firebase.json").read_text())
    config["emulators"] = {"hosting": {"port": 5055}}
    (site / "firebase.json").write_text(json.dumps(config))
    rc = {"projects": {"default": "demo-browsernet", "staging": "demo-staging"}, "targets": {"demo-staging": {}}}
    (site / ".firebaserc").write_text(json.dumps(rc))
    result = run("deploy", "firebase", str(site), "--project", "demo-other", "--dry-run")
    assert result.exit_code == 0, result.output
    written = json.loads((site / "firebase.json").read_text())
    assert written["hosting"] == hosting.firebase_config()["hosting"] and written["emulators"]["hosting"]["port"] == 5055
    assert json.loads((site / ".firebaserc").read_text()) == {
        "projects": {"default": "demo-other", "staging": "demo-staging"}, "targets": {"demo-staging": {}}}


@pytest.mark.parametrize("edit, message", [
    (lambda c: {**c, "hosting": {**c["hosting"], "redirects": [{"source": "/old", "destination": "/"}]}},
     "its hosting section is not the one browsernet writes (redirects differ), and deploy writes browsernet's, "
     "which would lose that; nothing was deployed."),
    (lambda c: "{ not json", "not readable as JSON"),
])
def test_firebase_deploy_never_overwrites_an_edited_hosting_section_or_a_broken_file(edit, message, publish_sites,
                                                                                   tmp_path):
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    edited = edit(json.loads((site / "firebase.json").read_text()))
    text = edited if isinstance(edited, str) else json.dumps(edited)
    (site / "firebase.json").write_text(text)
    for dry_run in (("--dry-run",), ()):
        _one_line_error(run("deploy", "firebase", str(site), *dry_run), message)
        assert (site / "firebase.json").read_text() == text


def test_a_firebaserc_whose_projects_are_not_aliases_is_one_line_and_kept(publish_sites, tmp_path):
    """A "projects" list (not the firebase CLI's {alias: id}) failed as 'unexpected TypeError' with --project."""
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    (site / ".firebaserc").write_text('{"projects": ["demo-browsernet"]}')
    _one_line_error(run("deploy", "firebase", str(site), "--project", "demo-other", "--dry-run"),
                    f"{site / '.firebaserc'}: its \"projects\" is a list, not the object of aliases")
    assert (site / ".firebaserc").read_text() == '{"projects": ["demo-browsernet"]}'


def test_firebase_without_login_says_what_to_run(publish_sites, tmp_path, monkeypatch):
    """The real firebase CLI (pinned in package.json), with a fresh home: installed, not logged in."""
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    home = tmp_path / "home"
    home.mkdir()
    from builder import user_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache.folder("").parent))  # where the build kept its record
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    result = run("deploy", "firebase", str(site))
    _one_line_error(result, "not logged in", "firebase login", "firebase deploy --only hosting --project demo-browsernet")
    said = result.output.split(" && ")[1].removesuffix(" login")  # the CLI the printed command runs
    assert shutil.which(said), f"{said}: the printed command names a CLI that is not there"


def test_a_firebase_cli_that_does_not_run_is_not_called_logged_out(publish_sites, tmp_path, monkeypatch):
    """A firebase CLI whose interpreter is gone (node uninstalled): 'not logged in; firebase login' sent the user to a
    command that fails the same way, and a missing interpreter was 'unexpected FileNotFoundError'."""
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "firebase"
    cli.write_text("#!/nonexistent/node\n")
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    _one_line_error(run("deploy", "firebase", str(site), "--project", "demo-browsernet"),
                    f"the firebase CLI {cli} does not run (No such file or directory)", "npm install -g firebase-tools")


def test_firebase_project_must_be_an_id(publish_sites, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(publish_sites["firebase"], site)
    _one_line_error(run("deploy", "firebase", str(site), "--project", "My Project"), "not a Firebase project ID")


@pytest.mark.parametrize("args, message", [
    (["--cname", "example.com"], "--cname is for --target github-pages"),
    (["--firebase-project", "demo-x"], "--firebase-project is for --target firebase"),
    (["--target", "github-pages", "--cname", "not a domain"], "not a domain name"),
])
def test_build_target_options_are_checked(args, message, tmp_path):
    result = run("build-site", "-q", "--out", str(tmp_path / "s"), *args)
    _one_line_error(result, message)
