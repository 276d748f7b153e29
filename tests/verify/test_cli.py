"""`browsernet verify` when the site cannot be verified at all: one line, exit code 1, no browser needed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from builder.cli import cli


def one_line_error(args: list[str], *fragments: str) -> str:
    result = CliRunner().invoke(cli, ["verify", "-q", *args], prog_name="browsernet")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def minimal_site(tmp_path):
    """A folder that looks like a build to the preview server (index.html, a browsernet report.json)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    (site / "report.json").write_text(json.dumps({"generator": "browsernet", "sources": {}}))
    return site


def test_neither_url_nor_folder(tmp_path):
    line = one_line_error([str(tmp_path / "nothing")], "neither a URL (http:// or https://) nor a site folder")
    # Without -q too, the error is all it says: no "Verifying ... in headless Chromium" before it.
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "nothing")], prog_name="browsernet")
    assert result.exit_code == 1 and result.output.strip().splitlines() == [line], result.output


@pytest.mark.parametrize("url, said", [("http://[::1", "http://[::1: not a valid URL (Invalid IPv6 URL)"),
                                       ("http://127.0.0.1:99999/", "not a valid URL (Port out of range 0-65535)"),
                                       ("http://", "http://: a URL with no host name")])
def test_a_url_that_names_no_host_is_one_line_and_still_json(url, said):
    result = CliRunner().invoke(cli, ["verify", "-q", url, "--json", "-"])
    assert result.exit_code == 1
    assert said in json.loads(result.stdout)["error"]
    assert result.stderr.strip().splitlines() == [f"Error: {json.loads(result.stdout)['error']}"]


@pytest.mark.parametrize("timeout", ["1e12", "inf", "nan"])
def test_a_timeout_past_what_chromium_waits_is_refused(minimal_site, timeout):
    """Chromium's timers hold at most 2**31 ms: --timeout 1e12 made every visit time out at once and blamed the
    site; inf and nan failed the visits with a JSON error."""
    assert "--timeout" in one_line_error([str(minimal_site), "--timeout", timeout])


def test_a_report_json_that_is_not_json_is_named_as_such(minimal_site):
    (minimal_site / "report.json").write_text("{broken")
    one_line_error([str(minimal_site)], f"{minimal_site / 'report.json'}: cannot be read as a build report")


def test_json_into_a_folder_is_refused_before_the_run(minimal_site, tmp_path):
    one_line_error([str(minimal_site), "--json", str(tmp_path)], f"--json {tmp_path}: a folder; give a file")


def test_a_backend_named_twice_is_refused(minimal_site):
    assert one_line_error([str(minimal_site), "--backends", "wasm,auto,wasm"]) == \
        "Error: --backends wasm,auto,wasm: wasm named twice (see 'browsernet verify --help')"


def test_folder_that_is_not_a_build(tmp_path):
    one_line_error([str(tmp_path)], "not a browsernet build", "build-site")
    one_line_error([str(tmp_path / "nothing")], "nothing: neither a URL (http:// or https://) nor a site folder")
    (tmp_path / "trained").mkdir()
    (tmp_path / "trained" / "train-report.json").write_text("{}")  # `browsernet train`'s output: its site is next
    one_line_error([str(tmp_path / "trained")], "a browsernet train output, not a site",
                   f"browsernet build-site --model {tmp_path / 'trained' / 'model.keras'} --out site")


def test_expect_is_for_a_url_and_must_name_a_build(minimal_site, tmp_path):
    one_line_error([str(minimal_site), "--expect", str(minimal_site)], "--expect is for a URL",
                   "checked against its own report.json")
    one_line_error(["http://127.0.0.1:9/", "--expect", str(tmp_path / "nothing")], "nothing: does not exist")
    one_line_error(["http://127.0.0.1:9/", "--expect", str(tmp_path)], "not a browsernet build", "build-site")


def test_without_chromium_says_how_to_get_it(minimal_site, monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSERNET_CHROMIUM", str(tmp_path / "no-chromium"))
    one_line_error([str(minimal_site)], "Chromium not found", "apt-get install chromium", "BROWSERNET_CHROMIUM")


def test_unknown_backend(minimal_site):
    one_line_error([str(minimal_site), "--backends", "auto,metal"], "--backends metal", "webgl, wasm, cpu")
    # Without -q too: refused before anything starts, so nothing is announced first.
    result = CliRunner().invoke(cli, ["verify", str(minimal_site), "--backends", "auto,metal"], prog_name="browsernet")
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        "Error: --backends metal: choose from auto, webgpu, webgl, wasm, cpu (see 'browsernet verify --help')"], \
        result.output


def test_no_backend(minimal_site):
    one_line_error([str(minimal_site), "--backends", ","], "--backends: name at least one of auto")


def test_a_json_file_in_no_folder_is_refused_before_any_check(minimal_site, monkeypatch, tmp_path):
    # No Chromium either: the --json error must come first, before anything is started.
    monkeypatch.setenv("BROWSERNET_CHROMIUM", str(tmp_path / "no-chromium"))
    one_line_error([str(minimal_site), "--json", str(tmp_path / "missing" / "v.json")],
                   f"--json {tmp_path / 'missing' / 'v.json'}: no folder")


def test_a_json_file_inside_the_site_is_refused_before_any_check(minimal_site, monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSERNET_CHROMIUM", str(tmp_path / "no-chromium"))
    before = (minimal_site / "report.json").read_text()
    one_line_error([str(minimal_site), "--json", str(minimal_site / "report.json")], "is inside the site folder")
    one_line_error(["http://127.0.0.1:9/", "--expect", str(minimal_site), "--json", str(minimal_site / "v.json")],
                   "is inside the site folder")
    assert (minimal_site / "report.json").read_text() == before and not (minimal_site / "v.json").exists()


@pytest.mark.parametrize("cwd", ["site's parent", "elsewhere"])
def test_the_json_path_the_refusal_suggests_is_beside_the_site_from_where_the_command_ran(cwd, minimal_site,
                                                                                         monkeypatch, tmp_path):
    """Run from another folder, "--json ../v.json" landed wherever that folder's parent is."""
    monkeypatch.setenv("BROWSERNET_CHROMIUM", str(tmp_path / "no-chromium"))
    here = minimal_site.parent if cwd == "site's parent" else tmp_path / "a" / "b"
    here.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(here)
    line = one_line_error([str(minimal_site), "--json", str(minimal_site / "v.json")], "write it elsewhere")
    suggested = line.rsplit("(--json ", 1)[1].rstrip(")")
    assert (here / suggested).resolve().parent == minimal_site.resolve().parent


def test_json_to_stdout_still_says_what_failed(tmp_path):
    """`verify TARGET --json -` in CI: a run that cannot start still writes its JSON (ok: false, the error),
    so the step reading it gets a verdict instead of empty input."""
    result = CliRunner().invoke(cli, ["verify", "-q", str(tmp_path / "nothing"), "--json", "-"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and "neither a URL" in data["error"] and data["checks"] == []
    assert "Error: " in result.stderr and "neither a URL" in result.stderr


def test_a_query_in_the_url_is_said_to_be_left_out(monkeypatch, tmp_path):
    """verify visits the page itself (with ?backend=NAME per --backends): a ?threads=1 in the URL given would
    not be what it verified, so it says so before anything else."""
    monkeypatch.setenv("BROWSERNET_CHROMIUM", str(tmp_path / "no-chromium"))
    result = CliRunner().invoke(cli, ["verify", "http://127.0.0.1:9/repo/?threads=1"])
    assert result.exit_code == 1 and "Chromium not found" in result.output.strip().splitlines()[-1]
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "leaves out ?threads=1" in warnings[0] and "/repo/" in warnings[0], result.output


def test_a_ctrl_c_that_a_library_swallowed_writes_no_verdict(minimal_site, tmp_path, monkeypatch):
    """A stop signal whose KeyboardInterrupt vanished (CPython drops one raised in a gc callback) let the run end
    normally: it printed a table and wrote --json as if the checks had run to the end."""
    import os
    import signal

    from builder import interrupts
    from builder.verify import run

    def stopped_run(options, reporter):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass
        # Every check passed, as far as the interrupted run got.
        return run.VerifyResult(target=options.target, url="http://127.0.0.1:1/", seconds=1.0, visits=[],
                                checks=[run.Check(name="Loads", ok=True, detail="ready on wasm")])

    monkeypatch.setattr(run, "verify", stopped_run)
    result = CliRunner().invoke(cli, ["verify", "-q", str(minimal_site), "--json", str(tmp_path / "v.json")])
    assert result.exit_code == 1 and result.output.strip().splitlines() == ["Aborted!"], result.output
    assert not (tmp_path / "v.json").exists()
    assert not interrupts.seen()  # the command is over: a later one in this process is not stopped by it


@pytest.mark.parametrize("given, url", [
    ("http://LOCALHOST:80/app", "http://localhost/app/"), ("HTTPS://Example.COM:443/a/index.html", "https://example.com/a/"),
    ("https://example.com:8443", "https://example.com:8443/"), ("http://[::1]:8000/x/?backend=wasm#top", "http://[::1]:8000/x/"),
])
def test_the_sites_address_is_written_as_browsers_write_it(given, url):
    """The page's requests, as Chromium reports them, are compared with this address (Private, the bytes the page
    received, the return visit's downloads): http://LOCALHOST:80/app made every request look foreign."""
    from builder.verify.run import _folder_url

    assert _folder_url(given) == url


@pytest.mark.parametrize("landed, folder", [("https://example.com/app/home.html", "https://example.com/app/"),
                                            ("https://example.com/app/", "https://example.com/app/"),
                                            ("https://example.com", "https://example.com/")])
def test_a_redirect_that_lands_on_a_page_is_verified_in_that_pages_folder(landed, folder):
    from builder.verify.run import _folder_url

    assert _folder_url(landed, landed=True) == folder
