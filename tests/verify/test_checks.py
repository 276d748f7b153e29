"""verify's verdicts from plain observations: each check fails for its cause, and says so."""

from __future__ import annotations

import hashlib
import json

import pytest

from builder.verify import checks
from builder.verify.checks import Privacy, Served, Visit

SHARD = b"\x00\x01weights" * 100
REPORT = {
    "sha256": {"model/model.json": hashlib.sha256(b"{}").hexdigest(),
               "model/group1-shard1of1.bin": hashlib.sha256(SHARD).hexdigest(),
               "index.html": hashlib.sha256(b"<!doctype html>").hexdigest()},
    "shard_sha256": {"group1-shard1of1.bin": hashlib.sha256(SHARD).hexdigest()},
    "reference": {"probabilities": [[0.9, 0.1], [0.25, 0.75]], "tolerance": 1e-4},
}


def ready(backend="wasm", probabilities=((0.9, 0.1), (0.25, 0.75)), **kw) -> Visit:
    facts = {"thread": "worker", "threads": 2, "isolated": True, "controlled": True, **kw}
    return Visit("auto", "ready", backend=backend, probabilities=[list(p) for p in probabilities], **facts)


def served(**override) -> list[Served]:
    files = {"model/model.json": Served("model/model.json", 200, "application/json", b"{}"),
             "model/group1-shard1of1.bin": Served("model/group1-shard1of1.bin", 200, "application/octet-stream", SHARD),
             "index.html": Served("index.html", 200, "text/html", b"<!doctype html>")}
    files.update(override)
    return list(files.values())


def test_right_files_pass_and_count():
    check = checks.right_files(REPORT, served())
    assert check.ok and check.detail.startswith("3 files match"), check


def test_a_file_the_report_lists_without_a_sha256_fails():
    """report.json with its sha256 map (or one entry) deleted: an edited index.html of the same size passed, and
    the line counted '3 files match report.json's sha256'."""
    report = {**REPORT, "files": {path: 1 for path in REPORT["sha256"]},
              "sha256": {k: v for k, v in REPORT["sha256"].items() if k != "index.html"}}
    check = checks.right_files(report, served(**{"index.html": Served("index.html", 200, "text/html", b"<!-- hi -->")}))
    assert not check.ok and check.detail == ("index.html: report.json lists without a sha256 (edited or damaged), "
                                             "so what is served cannot be checked; rebuild the site")


@pytest.mark.parametrize("report", [{**REPORT, "sha256": {}, "files": {}}, {k: v for k, v in REPORT.items()
                                                                        if k != "sha256"}])
def test_a_report_that_records_none_of_the_served_files_fails(report):
    """report.json's sha256 map and file list emptied (or the map deleted): every file served was unchecked, and
    the line said "0 files match report.json's sha256"."""
    check = checks.right_files(report, served(**{"index.html": Served("index.html", 200, "text/html", b"<!-- hi -->")}))
    assert not check.ok
    for path in ("model/model.json", "model/group1-shard1of1.bin", "index.html"):
        assert f"{path}: report.json records no sha256 for it" in check.detail


def test_another_builds_shards_are_that_builds_not_an_edited_report():
    """verify --expect SITE while the host serves another build: its model.json names its own shards, which SITE's
    report cannot record; the line is the other build, not "rebuild the site"."""
    theirs = Served("model/group1-shard1of1.other.bin", 200, "application/octet-stream", b"other")
    check = checks.right_files(REPORT, served(**{"model/group1-shard1of1.bin": theirs}), other="the host serves "
                               "another build (build_id 1234…) than site/ (build_id 5678…)")
    assert not check.ok and check.detail.startswith("the host serves another build")
    assert "records no sha256" not in check.detail and "rebuild" not in check.detail


def test_a_cname_changed_in_a_local_site_fails_as_deploy_refuses_it():
    check = checks.right_files(REPORT, served(), edited=["CNAME"])
    assert not check.ok and check.detail == "CNAME: changed since the build; deploy would refuse to publish the folder"


def test_a_symbolic_link_in_a_local_site_fails_as_deploy_refuses_it():
    check = checks.right_files(REPORT, served(), links=["etc"])
    assert not check.ok and check.detail == ("etc: a symbolic link, which the build never writes; deploy would "
                                             "refuse to publish the folder")


def test_flipped_byte_is_named_with_both_digests():
    flipped = bytearray(SHARD)
    flipped[7] ^= 1
    check = checks.right_files(REPORT, served(**{"model/group1-shard1of1.bin": Served(
        "model/group1-shard1of1.bin", 200, "application/octet-stream", bytes(flipped))}))
    assert not check.ok
    assert "model/group1-shard1of1.bin: sha256" in check.detail
    assert REPORT["sha256"]["model/group1-shard1of1.bin"][:12] in check.detail


def test_a_stale_copy_that_only_the_page_received_is_named_once():
    """The host answers verify's own request with the build's file, but the page got another copy (a cache keyed
    on what browsers send): Right files names it. A file the direct request already got wrong is named once."""
    good = {path: digest for path, digest in REPORT["sha256"].items()}
    check = checks.right_files(REPORT, served(), received=good)
    assert check.ok and check.detail.endswith("among them; 3 of them also as the page received them)"), check
    stale = hashlib.sha256(b"<!doctype html><!-- last week -->").hexdigest()
    check = checks.right_files(REPORT, served(), received={**good, "index.html": stale})
    assert not check.ok
    assert check.detail == (f"index.html: the page received sha256 {stale[:12]}…, not report.json's "
                            f"{REPORT['sha256']['index.html'][:12]}…, though a direct request gets the build's file: "
                            "a cache sends browsers a stale copy (purge it, or wait for it to expire)")
    missing = served(**{"index.html": Served("index.html", 404, "text/html")})
    check = checks.right_files(REPORT, missing, received={**good, "index.html": stale})
    assert check.detail == "index.html: HTTP 404 (missing on the host)"


def test_html_fallback_in_place_of_a_shard_is_named():
    check = checks.right_files(REPORT, served(**{"model/group1-shard1of1.bin": Served(
        "model/group1-shard1of1.bin", 200, "text/html", b"<!doctype html>")}))
    assert not check.ok and "model/group1-shard1of1.bin: the host sent an HTML page" in check.detail


def test_missing_file_and_stale_source():
    check = checks.right_files(REPORT, served(**{"model/model.json": Served("model/model.json", 404, "text/html")}),
                               stale="the model file /x/model.keras changed")
    assert not check.ok
    assert "stale: the model file /x/model.keras changed since the site was built" in check.detail
    assert "model/model.json: HTTP 404" in check.detail


def test_a_host_serving_another_build_than_expected_fails_right_files_first():
    """verify URL --expect SITE: the host's report.json against SITE's; the files against SITE's build."""
    ours = {**REPORT, "build_id": "a" * 32}
    assert checks.other_build(dict(ours), ours, "site/") is None
    older = checks.other_build({**ours, "build_id": "b" * 32}, ours, "site/")
    assert older == (f"the host serves another build (build_id {'b' * 12}…) than site/ (build_id {'a' * 12}…): "
                     "deploy site/, or wait until the host publishes it")
    tampered = checks.other_build({**ours, "reference": {"probabilities": [[0.5, 0.5]]}}, ours, "site")
    assert "differs from site/'s although it names the same build" in tampered
    check = checks.right_files(ours, served(), other=older, against="site/report.json")
    assert not check.ok and check.detail.startswith("the host serves another build")
    check = checks.right_files(ours, served(), against="site/report.json")
    assert check.ok and "3 files match site/report.json's sha256" in check.detail


def test_model_paths_from_the_served_manifest_else_the_report():
    manifest = b'{"weightsManifest": [{"paths": ["a.bin", "b.bin"]}]}'
    assert checks.model_paths(REPORT, manifest) == ["model/model.json", "model/a.bin", "model/b.bin"]
    assert checks.model_paths(REPORT, b"<!doctype html>") == ["model/model.json", "model/group1-shard1of1.bin"]


def test_loads_names_backend_and_failures():
    assert checks.loads([ready()]).detail == "ready on wasm in a worker, 2 threads (the page's pick)"
    forced = Visit("webgl", "ready", backend="wasm", thread="worker")
    assert "?backend=webgl: runs on wasm instead" in checks.loads([ready(), forced]).detail
    broken = Visit("auto", "error", error="model/group1-shard1of1.bin: sha256 mismatch")
    check = checks.loads([broken])
    assert not check.ok and "error: model/group1-shard1of1.bin: sha256 mismatch" in check.detail


@pytest.mark.parametrize("backend, off, ok", [("wasm", 9e-5, True), ("wasm", 2e-4, False),
                                               ("webgl", 9e-4, True), ("webgl", 2e-3, False)])
def test_right_answers_within_the_backend_tolerance(backend, off, ok):
    visit = ready(backend, probabilities=((0.9 - off, 0.1 + off), (0.25, 0.75)))
    check = checks.right_answers(REPORT, [visit])
    assert check.ok is ok, check
    assert f"on {backend}" in check.detail


@pytest.mark.parametrize("quantization, parity, shown", [
    ({"map": "none"}, {}, None),
    ({"map": "uint8"}, {"quantization_error": 0.15, "samples": 4},
     "(Keras with the weights as stored: uint8, which differ from the float32 model's by up to 0.15 on the "
     "build's 4 test images)"),
    ({"map": "float16=*/kernel; uint8", "auto": {"max_prob_error": 0.03, "images": 200}},
     {"quantization_error": 0.00095, "samples": 4},
     "which differ from the float32 model's by up to 0.03 on 200 calibration images"),
])
def test_right_answers_on_a_quantized_site_say_how_far_it_is_from_the_float32_model(quantization, parity, shown):
    """The reference of a quantized site is Keras with the dequantized weights: matching it proves the
    loader, not that the page gives the original model's numbers. The line says how far those are."""
    check = checks.right_answers({**REPORT, "quantization": quantization, "parity": parity}, [ready()])
    assert check.ok
    assert ("Keras with the weights as stored" in check.detail) is (shown is not None)
    assert shown is None or shown in check.detail, check.detail


def test_right_answers_needs_a_reference_and_an_answer():
    assert "no reference probabilities" in checks.right_answers({}, [ready()]).detail
    assert "classify() failed: boom" in checks.right_answers(REPORT, [ready(classify_error="boom")]).detail
    assert "2 classes per image, report.json has 3" in checks.right_answers(
        {"reference": {"probabilities": [[0.5, 0.25, 0.25]] * 2}}, [ready()]).detail


def test_right_answers_under_other_names_are_wrong_answers():
    """The page's labels must be config.json's as the build wrote it (its sha256 in report.json)."""
    config = json.dumps({"labels": ["cat", "dog"]}).encode()
    report = {**REPORT, "sha256": {**REPORT["sha256"], "config.json": hashlib.sha256(config).hexdigest()}}
    labels = checks.built_labels(report, served(**{"config.json": Served("config.json", 200, "application/json",
                                                                         config)}))
    assert labels == ["cat", "dog"]
    assert checks.right_answers(report, [ready(labels=["cat", "dog"])], labels).ok
    check = checks.right_answers(report, [ready(labels=["dog", "cat"])], labels)
    assert not check.ok and "the page names output 0 as 'dog', not 'cat'" in check.detail
    assert "a stale copy in a cache" in check.detail
    # When the host serves another build than --expect's, that is the reason, not a cache.
    other_build = checks.right_answers(report, [ready(labels=["dog", "cat"])], labels, other_build=True)
    assert "the host does not serve the expected build" in other_build.detail and "cache" not in other_build.detail
    assert "1 classes, not 2" in checks.right_answers(report, [ready(labels=["cat"])], labels).detail
    # A config.json that is not the build's names nothing to compare with (Right files fails it)...
    other = Served("config.json", 200, "application/json", b'{"labels": ["x", "y"]}')
    assert checks.built_labels(report, served(**{"config.json": other})) is None
    # ...unless --expect's folder holds the build's: the page must then show those labels, whatever the host sent.
    assert checks.built_labels(report, served(**{"config.json": other}), local=config) == ["cat", "dog"]


def test_private():
    assert checks.private("http://127.0.0.1:8000", Privacy()).ok
    check = checks.private("http://127.0.0.1:8000", Privacy(foreign=["https://cdn.example.com/tf.js"],
                                                            csp=["Refused to load the script"],
                                                            errors=["uncaught TypeError: x"]))
    assert not check.ok
    for fragment in ("cdn.example.com", "Content-Security-Policy", "uncaught TypeError"):
        assert fragment in check.detail
    assert checks.same_origin("blob:http://a/1", "http://b") and not checks.same_origin("http://a:1/", "http://a:2")


def test_host_explains_isolation():
    wasm = [Served("vendor/x.wasm", 200, "application/wasm")]
    by_headers = checks.host(ready(), {"cross-origin-opener-policy": "same-origin",
                                       "cross-origin-embedder-policy": "require-corp"}, wasm)
    assert by_headers.ok and "host's COOP/COEP headers" in by_headers.detail and "2 threads" in by_headers.detail
    assert "service worker" in checks.host(ready(), {}, wasm).detail
    insecure = checks.host(ready(isolated=False, secure=False, controlled=False), {}, wasm)
    assert not insecure.ok and "not a secure context" in insecure.detail and "one thread" in insecure.detail
    no_sw = checks.host(ready(isolated=False, controlled=False), {}, wasm)
    assert not no_sw.ok and "service worker did not take control" in no_sw.detail
    # The host's own COEP: unsafe-none is kept by the service worker, so that header is the cause to name.
    unsafe = checks.host(ready(isolated=False), {"cross-origin-embedder-policy": "unsafe-none"}, wasm)
    assert not unsafe.ok and "the host sends Cross-Origin-Embedder-Policy: unsafe-none, which the site's service " \
        "worker keeps" in unsafe.detail
    octet = checks.host(ready(), {}, [Served("vendor/x.wasm", 200, "application/octet-stream")])
    assert not octet.ok and "vendor/x.wasm is served as 'application/octet-stream'" in octet.detail


def test_return_visit_and_offline():
    assert checks.return_visit(ready(), {}).ok
    again = checks.return_visit(ready(), {"model/group1-shard1of1.bin": 4096})
    assert not again.ok and "4,096 model bytes" in again.detail and "group1-shard1of1.bin" in again.detail
    # Nothing downloaded, but no service worker either: the browser's HTTP cache served it, which is not the check.
    uncontrolled = checks.return_visit(ready(controlled=False), {})
    assert not uncontrolled.ok and "service worker did not control the second visit" in uncontrolled.detail
    assert checks.offline(ready(), REPORT).ok
    down = checks.offline(Visit("auto", "error", error="Failed to fetch"), REPORT)
    assert not down.ok and "Failed to fetch" in down.detail


def test_visits_skipped_after_a_timeout_say_so():
    skipped = Visit("auto", "timeout", f"{checks.NOT_TRIED}: the first visit never became ready")
    assert checks.return_visit(skipped, {}).detail == "not tried: the first visit never became ready"
    assert checks.offline(skipped, REPORT).detail == "not tried: the first visit never became ready"
    assert "never became ready: still loading" in checks.loads([Visit("auto", "timeout", "still loading")]).detail
