"""Host configuration as data: Firebase rules, hashed names, target files."""

from __future__ import annotations

import json
import re

import pytest

from builder.site import hosting
from builder.errors import BrowsernetError


def _rules(config):
    return config["hosting"]["headers"]


def test_firebase_public_is_the_site_and_host_files_are_not_published():
    config = hosting.firebase_config()
    assert config["hosting"]["public"] == "."
    for name in (hosting.FIREBASE_JSON, hosting.FIREBASERC, "**/*.br", "**/*.gz"):
        assert name in config["hosting"]["ignore"]  # Firebase compresses by itself


def test_firebase_sends_isolation_headers_and_no_cache_everywhere():
    catch_all = next(r for r in _rules(hosting.firebase_config()) if r.get("source") == "**")
    headers = {h["key"]: h["value"] for h in catch_all["headers"]}
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Cache-Control"] == "no-cache"


def test_firebase_caches_only_hashed_files_forever():
    rule = next(r for r in _rules(hosting.firebase_config()) if "regex" in r)
    assert rule["headers"] == [{"key": "Cache-Control", "value": "public, max-age=31536000, immutable"}]
    pattern = re.compile(rule["regex"])
    assert pattern.search("/model/group1-shard1of2.0123456789ab.bin")
    for unhashed in ("/model/model.json", "/index.html", "/sw.js", "/model/group1-shard1of2.bin", "/js/app.js"):
        assert not pattern.search(unhashed)


def test_wasm_gets_its_mime_type():
    rule = next(r for r in _rules(hosting.firebase_config()) if r.get("source") == "**/*.wasm")
    assert rule["headers"] == [{"key": "Content-Type", "value": "application/wasm"}]


@pytest.mark.parametrize("cname", ["example.com", "www.example.co.uk", "a-b.example.org"])
def test_good_domains(cname):
    assert hosting.check_cname(cname) == cname


@pytest.mark.parametrize("cname", ["https://example.com", "example", "exa mple.com", "-x.com", "example.com/",
                                   "example.com\n"])
def test_bad_domains_are_refused(cname):
    with pytest.raises(BrowsernetError, match="not a domain name"):
        hosting.check_cname(cname)


def test_project_ids():
    assert hosting.check_project("demo-browsernet") == "demo-browsernet"
    for bad in ("Demo", "ab", "1abcdef", "has_underscore"):
        with pytest.raises(BrowsernetError, match="not a Firebase project ID"):
            hosting.check_project(bad)


def test_target_files(tmp_path):
    pages, firebase, generic = (tmp_path / n for n in ("p", "f", "g"))
    for d in (pages, firebase, generic):
        d.mkdir()
    assert hosting.write_target_files(pages, "github-pages", cname="example.com") == [".nojekyll", "CNAME"]
    assert (pages / "CNAME").read_text() == "example.com\n"
    assert hosting.write_target_files(firebase, "firebase", firebase_project="demo-x") == ["firebase.json",
                                                                                           ".firebaserc"]
    assert json.loads((firebase / "firebase.json").read_text()) == hosting.firebase_config()
    assert hosting.firebase_project(firebase) == "demo-x"
    assert hosting.write_target_files(generic, "generic") == []
    assert list(generic.iterdir()) == []
