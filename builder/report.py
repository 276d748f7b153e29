"""BuildReport: what a build produced, written to ``report.json`` and summarised for people.

Other commands (serve, and later deploy and bench) read this file rather than
re-deriving state. ``generator`` marks a directory as a browsernet build, which is
how the build knows it may replace it.

``report.json`` is published with the site, so it names the build machine's files by their names
alone (no folders, no user name). Where the input files are, which deploy, verify and bench need to
check them, is kept on the build machine: ``$XDG_CACHE_HOME/browsernet/builds/BUILD_ID.json``
(:func:`local_record`), read back by :func:`load` and :func:`read`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import types
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

REPORT_FILE = "report.json"
GENERATOR = "browsernet"
LOCAL_RECORDS = "builds"  # under the user's cache folder: where each build's input files are (local_record)
# The options that name files or folders of the build machine: published by their names alone.
PATH_OPTIONS = ("model", "labels", "weights", "calibration", "out")


@dataclass
class BuildReport:
    version: str
    model: str  # the --model argument: a family name or a file path
    family: str
    alpha: float | None
    input_size: list[int]  # [height, width]
    weights: str
    labels: str  # "imagenet" or the labels file
    classes: int
    preprocess: str
    resize: str  # how the page fits images to input_size: "squash" or "crop" (see build.RESIZE_RULES)
    parameters: int
    multiply_adds: int
    layers: int  # TF.js layers written
    quantization: dict[str, Any]  # mode, map, weight bytes, per-weight dtypes; "auto": what the search measured
    weight_dtypes: dict[str, int]  # stored dtype -> number of weight tensors
    files: dict[str, int]  # site-relative path -> bytes
    model_bytes: int
    shard_sha256: dict[str, str]  # weight shard, as listed in model.json -> sha256 hex (the page verifies these)
    total_bytes: int
    parity: dict[str, Any]
    build_seconds: float
    options: dict[str, Any] = field(default_factory=dict)  # the build options, to detect stale sites
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # input files: path, sha256
    # Inference rewrites: enabled, layers_before, layers_after, and (only when enabled) the counts of
    # optimize.Summary: folded_batchnorms, fused_activations, dropped_layers, folded_paddings, folded_offsets,
    # scaled_kernels.
    optimization: dict[str, Any] = field(default_factory=dict)
    # Site path -> {Content-Encoding ("br", "gzip"): bytes of its pre-compressed copy, PATH.br or PATH.gz}.
    precompressed: dict[str, dict[str, int]] = field(default_factory=dict)
    # A model written by `browsernet train`: its test figures (builder.train.report.Trained.card()); else {}.
    training: dict[str, Any] = field(default_factory=dict)
    # Site path -> sha256 hex, for every file in ``files``: what deploy and verify check the site against.
    sha256: dict[str, str] = field(default_factory=dict)
    # Keras's probabilities on deterministic images that ``browsernet verify`` recreates and feeds the live
    # page (see builder.convert.self_check.reference_record).
    reference: dict[str, Any] = field(default_factory=dict)
    # What the model's output was and what the page applies to it (builder.convert.heads.Head).
    head: dict[str, Any] = field(default_factory=dict)
    # What the build rewrote so that TF.js runs the model (graph.Graph.lowered): description -> layer names.
    lowered: dict[str, list[str]] = field(default_factory=dict)
    # A random ID, under which the build machine keeps where the input files are (local_record).
    build_id: str = ""
    generator: str = GENERATOR

    @property
    def target(self) -> str:
        """The host the site was built for (``--target``): generic, github-pages or firebase."""
        return self.options.get("target", "generic")

    @property
    def cname(self) -> str | None:
        return self.options.get("cname")

    def stale_source(self, site: Path | None = None, roles: tuple[str, ...] | None = None) -> str | None:
        """Which recorded input file (model, labels; or only those of ``roles``) changed since the build, if
        any (``site``: the folder this report is in, to find inputs that moved with it; see :func:`source_path`)."""
        return stale_sources(asdict(self), site, roles)

    def missing_sources(self, site: Path | None = None) -> list[str]:
        """The recorded input files no longer there to compare (:func:`missing_sources`)."""
        return missing_sources(asdict(self), site)

    def changed_file(self, site: Path, skip: tuple[str, ...] = ()) -> str | None:
        """The first of the build's files (``files`` and ``sha256``; not those in ``skip``) that ``site`` no longer
        holds as built, as ``"PATH: missing from the site ..."`` or ``"PATH: changed since the build (...)"``; or
        None. Sizes first, then content (sha256: a flipped byte keeps the size)."""
        for path, size in self.files.items():
            if path in skip:
                continue
            file = site / path
            if not file.is_file():
                return f"{file}: missing from the site (it is in {REPORT_FILE})"
            if file.stat().st_size != size:
                return f"{file}: changed since the build ({file.stat().st_size} bytes, built as {size})"
        unrecorded = without_sha256(self.files, self.sha256, skip)
        if unrecorded:
            return (f"{site / unrecorded[0]}: {REPORT_FILE} records no sha256 for it (the report was edited or "
                    "damaged), so its content cannot be checked")
        for path, digest in self.sha256.items():
            if path in skip:
                continue
            file = site / path
            actual = sha256_of(file)
            if actual != digest:
                return f"{file}: changed since the build (sha256 {actual[:12]}…, built as {digest[:12]}…)"
        return None

    def write(self, site: Path) -> Path:
        """Write ``site/report.json`` (:func:`public`: no paths of this machine) and, in the user's cache,
        the local record of where the input files are (:func:`local_record`; without it, a later deploy
        warns that it cannot check them)."""
        data = asdict(self)
        if self.build_id and data["sources"]:
            record = local_record(self.build_id)
            try:
                record.parent.mkdir(parents=True, exist_ok=True)
                record.write_text(json.dumps({"build_id": self.build_id, "sources": data["sources"]}, indent=2))
            except OSError as e:
                log.warning("cannot keep where the input files are in %s (%s); deploy will not be able to tell "
                            "whether they changed since this build", record, e)
        path = site / REPORT_FILE
        path.write_text(json.dumps(public(data), indent=2) + "\n")
        return path

    def summary(self) -> list[str]:
        """A few lines for the terminal."""
        alpha = f", alpha {self.alpha:g}" if self.alpha is not None else ""
        parity = self.parity
        lines = [
            f"model        {self.family}{alpha}, {self.input_size[0]}x{self.input_size[1]}, {self.classes} classes, "
            f"preprocess {self.preprocess}, resize {self.resize}",
            f"size         {self.parameters:,} parameters, {self.multiply_adds / 1e6:,.1f} M multiply-adds, "
            f"{self._layers()}",
            f"download     model {_human(self.model_bytes)} (quantization: {self.quantization['map']}), "
            f"site total {_human(self.total_bytes)}",
            f"parity       max |TF.js - Keras| = {parity['max_abs_diff']:.2g} on {parity['backend']} "
            f"(limit {parity['tolerance']:g}, {parity['samples']} images)",
        ]
        if self.head:
            how = "detected" if self.head.get("detected") else "--head"
            lines.append(f"head         {self.head['kind']} ({how}); the page applies {self.head['applied']}")
        for what, names in self.lowered.items():
            lines.append(f"rewritten    {what}: {len(names)} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
        if parity.get("tfjs_float64_error") is not None:
            lines.append(f"float32      the difference is the model's own float32 error, not the conversion's: against "
                         f"the model run in float64, Keras is off by {parity['keras_float64_error']:.2g} and TF.js "
                         f"by {parity['tfjs_float64_error']:.2g}")
        elif parity.get("limit", 0) > parity["tolerance"]:
            lines.append(f"float32      this model's output moves by {parity['own_noise']:.2g} when its input moves one "
                         f"float32 step, so parity was held to {parity['limit']:.2g}, not {parity['tolerance']:g}")
        elif "own_noise" in parity:
            lines.append(f"float32      the model's own noise (one float32 step on the input) is "
                         f"{parity['own_noise']:.2g}: the conversion, not the model, is what the limit measures")
        if parity.get("output_spread", 1.0) <= 1e-3:
            lines.append("note         the model gives (nearly) the same output for every test image "
                         "(random weights?), so the parity figure says little")
        if self.training:
            t = self.training
            from builder.train.evaluate import SEEN_IN_TRAINING, accuracy_text

            accuracy = accuracy_text(t["test_accuracy"], t.get("test_accuracy_95ci"))
            lines.append(f"trained      test accuracy {accuracy} on {t['test_images']} held-out photos "
                         f"({t['train_images']} training photos, base {t['base']})" + (
                             f"; optimistic: {t['test_near_copies']} of the test photos were seen in training "
                             f"{SEEN_IN_TRAINING}"
                             if t.get("test_near_copies") else ""))
        if parity.get("quantization_error") is not None:
            lines.append(f"quantization max |quantized - float32| = {parity['quantization_error']:.2g} in probabilities "
                         f"on the self-check's {parity['samples']} synthetic images"
                         + ("; --quantize auto's bound holds on its calibration photos (below), not on these"
                            if self.quantization.get("auto") else "; real photos may differ more "
                            "(--quantize auto measures them)"))
        auto = self.quantization.get("auto")
        if auto:
            bounds = auto["bounds"]
            lines.append(f"auto         top-1 agrees with float32 on {auto['agreement']:.1%} of {auto['images']} "
                         f"calibration images, max prob error {auto['max_prob_error']:.2g} "
                         f"(needed: {bounds['agreement']:.0%}, {bounds['max_prob_error']:g})")
            plain = auto["plain"]
            lines.append("trade-off    weights: " + " | ".join(
                f"{dtype} {_human(p['weight_bytes'])}" + ("" if dtype == "float32" else f" {p['agreement']:.1%}")
                for dtype, p in plain.items()) + f" | auto {_human(self.quantization['weight_bytes'])}")
            test = auto.get("test")
            if test:  # a trained model's test photos, which the search did not see
                lines.append(f"test         accuracy on the {test['images']} test photos: " + " | ".join(
                    f"{name} {accuracy:.1%}" for name, accuracy in test["accuracy"].items()))
        if self.precompressed:
            raw = sum(self.files.get(path, 0) for path in self.precompressed)
            packed = {enc: sum(c.get(enc, 0) for c in self.precompressed.values()) for enc in ("br", "gzip")}
            lines.append(f"compressed   .br/.gz copies of {len(self.precompressed)} files: {_human(raw)} → "
                         f"{_human(packed['br'])} brotli, {_human(packed['gzip'])} gzip")
        lines.append(f"built in     {self.build_seconds:.1f}s")
        return lines


    def _layers(self) -> str:
        opt = self.optimization
        if not opt:  # a report from before optimization existed
            return f"{self.layers} TF.js layers"
        if not opt.get("enabled"):
            return f"{self.layers} TF.js layers (not optimized)"
        scaled = opt.get("scaled_kernels", 0)
        scaled = f"; {_n(scaled, 'uint8 kernel')} channel-scaled, each with a BatchNorm for its scales" if scaled else ""
        paddings = opt.get("folded_paddings", 0)
        paddings = f", {_n(paddings, 'padding')} folded" if paddings else ""
        offsets = opt.get("folded_offsets", 0)
        paddings += f", {_n(offsets, 'constant offset')} folded into biases" if offsets else ""
        return (f"{opt['layers_before']} → {self.layers} TF.js layers ({_n(opt['folded_batchnorms'], 'BatchNorm')} "
                f"folded, {_n(opt['fused_activations'], 'activation')} fused{paddings}, "
                f"{_n(opt['dropped_layers'], 'no-op layer')} dropped{scaled})")


def _n(count: int, noun: str) -> str:
    """``count`` with ``noun``, plural unless one: "1 padding", "3 paddings"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def without_sha256(files: Iterable[str], sha256: dict[str, str], skip: Iterable[str] = ()) -> list[str]:
    """The paths among a report's ``files`` (but ``skip``) that its ``sha256`` does not record: every build records
    each file's, so such a report was edited or damaged, and those files cannot be checked."""
    return [path for path in files if path not in sha256 and path not in skip]


def is_build_report(data: Any) -> bool:
    """Whether ``data`` (a parsed report.json) is a browsernet build's: its ``generator`` says so. A project's
    own report.json (test figures, a coverage report) is not."""
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def weight_map(quantization: Any) -> str | None:
    """The stored weights' dtype map ("auto: 73 uint16, 33 uint8", "float16") from report.json's ``quantization``
    (a dict, or a string in reports written before the section existed); None for float32 weights."""
    stored = quantization.get("map") if isinstance(quantization, dict) else quantization
    return None if stored in (None, "none") else str(stored)


def read(site: Path) -> dict[str, Any] | None:
    """The raw report of a previous browsernet build in ``site`` (as JSON), or None if it is not one; with
    the input files' local records (paths) where this machine built it (:func:`local_record`)."""
    try:
        data = json.loads((site / REPORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not is_build_report(data):
        return None
    if data.get("build_id"):
        try:
            local = json.loads(local_record(str(data["build_id"])).read_text())
            data["sources"] = {role: record for role, record in local["sources"].items()
                               if record.get("sha256") == data.get("sources", {}).get(role, {}).get("sha256")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # built elsewhere, or the cache was cleared: the published names and hashes only
    return data


def local_record(build_id: str) -> Path:
    """Where this machine keeps a build's input file records: ``$XDG_CACHE_HOME/browsernet/builds/ID.json``."""
    from builder import user_cache

    return user_cache.folder(LOCAL_RECORDS) / f"{Path(build_id).name}.json"


def public(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a report, as JSON) as published in ``report.json``: every file or folder of the build
    machine named by its name alone, wherever a path appears (options, sources, descriptions such as the
    calibration's "photos of /home/me/photos"), and the input files' records cut to name and sha256."""
    data = json.loads(json.dumps(data))
    given = [data.get("options", {}).get(key) for key in PATH_OPTIONS]
    given += [record.get("path") for record in data.get("sources", {}).values()]
    paths = {str(p) for p in given if isinstance(p, str) and (os.path.isabs(p) or os.sep in p)}
    names = {path: os.path.basename(path.rstrip(os.sep)) or path for path in paths}
    names.update({str(Path(p).resolve()): name for p, name in list(names.items())})
    known = sorted((p for p in names if os.path.isabs(p)), key=len, reverse=True)  # a folder's path prefixes its files'

    def cleaned(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: cleaned(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cleaned(v) for v in value]
        if not isinstance(value, str):
            return value
        if value in names:
            return names[value]
        for path in known:  # these first: their names may hold spaces
            value = value.replace(path, names[path])
        return _ABSOLUTE_PATH.sub(lambda m: os.path.basename(m.group(0)), value)

    data["sources"] = {role: {"name": os.path.basename(record.get("path", "")) or record.get("name", role),
                              "sha256": record.get("sha256")} for role, record in data.get("sources", {}).items()}
    return cleaned(data)


# An absolute path in a text ("photos of /tmp/me/photos"): two parts or more, at the start or after a space,
# quote or bracket, so not part of a URL, a MIME type, a fraction or a weight pattern ("uint8=*/kernel").
_ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s'\"(\[]))/[^\s/'\"(),;]+(?:/[^\s/'\"(),;]+)+")


def not_a_site(site: Path) -> str:
    """Why ``site``, which holds no build report, is no site, and what to run: for deploy's, bench's and verify's
    one-line errors. ``browsernet train``'s output is named as such, with the build that makes its site."""
    from builder.train import report as training

    if (site / training.REPORT_FILE).is_file():
        return (f"{site}: a browsernet train output, not a site; build its site first: browsernet build-site "
                f"--model {site / training.MODEL_FILE} --out site")
    what = "does not exist" if not site.exists() else f"is not a browsernet build (no {REPORT_FILE})"
    return f"{site}: {what}; run 'browsernet build-site --out {site}' first"


def load(site: Path) -> BuildReport | None:
    """The report of the browsernet build in ``site``, typed; None when ``site`` holds no ``report.json``.

    Keys this version does not know are ignored. Raises :class:`~builder.errors.BrowsernetError` for a report
    that lacks what this version needs (written by another browsernet version), saying to rebuild.
    """
    from builder.errors import BrowsernetError

    data = read(site)
    if data is None:
        try:
            json.loads((site / REPORT_FILE).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:  # there, but not a report: saying "no report.json" would be untrue
            raise BrowsernetError(f"{site / REPORT_FILE}: cannot be read as a build report ({e}); rebuild the site "
                                  "with 'browsernet build-site'") from e
        # JSON, but not a browsernet build's (another tool's report.json, or an emptied one): saying "no
        # report.json" would be untrue as well.
        raise BrowsernetError(f"{site / REPORT_FILE}: not a browsernet build report (no \"generator\": "
                              f"\"{GENERATOR}\"); build the site with 'browsernet build-site'")
    known = {f.name for f in fields(BuildReport)}
    try:
        report = BuildReport(**{k: v for k, v in data.items() if k in known})
    except TypeError as e:
        raise BrowsernetError(f"{site / REPORT_FILE}: written by browsernet {data.get('version')}, which this "
                              f"version cannot read ({e}); rebuild the site with 'browsernet build-site'") from e
    wrong = _mistyped(report)
    if wrong:
        raise BrowsernetError(f"{site / REPORT_FILE}: {', '.join(wrong[:3])}: not what a build writes (the file was "
                              "edited or damaged); rebuild the site with 'browsernet build-site'")
    return report


def _mistyped(report: BuildReport) -> list[str]:
    """The fields of ``report`` whose JSON type is not their annotation's (a dict where a dict belongs, a number
    where a number does), e.g. ``["files is a str"]``: read from an edited report.json, they would fail later in
    library terms ("'str' object has no attribute 'items'")."""
    import typing

    json_types = {dict: (dict,), list: (list,), str: (str,), int: (int,), float: (int, float)}
    wrong = []
    for name, hint in typing.get_type_hints(BuildReport).items():
        options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        allowed: tuple[type, ...] = ()
        for option in options:
            option = typing.get_origin(option) or option
            allowed += (type(None),) if option is type(None) else json_types.get(option, (object,))
        if name == "quantization":
            allowed += (str,)  # its form in reports written before the section existed (see weight_map)
        value = getattr(report, name)
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            wrong.append(f"{name} is {'a ' + type(value).__name__ if value is not None else 'null'}")
    return wrong


def source_record(path: Path, site: Path | None = None) -> dict[str, Any]:
    """What a build records about an input file, so a later deploy can tell if it changed: its absolute path,
    its :func:`content_sha256` and (given the ``site`` folder being built) its path from the site, so that a
    project moved or cloned elsewhere as a whole still finds it (:func:`source_path`)."""
    record = {"path": str(path.resolve()), "sha256": content_sha256(path)}
    if site is not None:
        record["from_site"] = os.path.relpath(path.resolve(), site.resolve())
    return record


def source_path(record: dict[str, Any], site: Path | None = None) -> Path | None:
    """Where a recorded input file is now: its recorded absolute path, or else, when that is gone, the same
    path from ``site`` (the project moved as a whole), when a file is there. None for a record with no
    path: a site built on another machine, or one whose local record is gone (:func:`public`)."""
    if not record.get("path"):
        return None
    path = Path(record["path"])
    if not path.is_file() and site is not None and record.get("from_site"):
        moved = Path(os.path.normpath(site.absolute() / record["from_site"]))
        if moved.is_file():
            return moved
    return path


def content_sha256(path: Path) -> str:
    """What a model or labels file holds, as a sha256 hex digest: the file's own sha256, except for a ``.keras``
    file, whose ``metadata.json`` holds the time it was saved, whose zip entries carry times too, and whose
    ``config.json`` may hold Python object ids: there, the sha256 of its other entries' names and bytes, the
    config without those ids (:func:`_comparable_config`). So the same model saved again (``browsernet train``
    run again with the same command) is the same content, and a site built from it is not stale."""
    if path.suffix.lower() == ".keras":
        try:
            with zipfile.ZipFile(path) as z:
                digest = hashlib.sha256()
                for name in sorted(n for n in z.namelist() if n != "metadata.json"):
                    data = z.read(name)
                    if name == "config.json":
                        data = json.dumps(_comparable_config(json.loads(data)), sort_keys=True).encode()
                    digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
                return digest.hexdigest()
        except (OSError, zipfile.BadZipFile, ValueError):
            pass  # not a zip: its bytes are its content
    return sha256_of(path)


def _comparable_config(value: Any) -> Any:
    """A Keras config without what differs between saves of the same model: ``shared_object_id`` (the Python
    ``id()`` of an object in the saving process) and a ``"build_config": null`` (a layer such as Dropout,
    never built in one process and built in another: train's second run assembles the model from a saved
    template, and records it so)."""
    if isinstance(value, dict):
        return {k: _comparable_config(v) for k, v in value.items()
                if k != "shared_object_id" and not (k == "build_config" and v is None)}
    return [_comparable_config(v) for v in value] if isinstance(value, list) else value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stale_sources(data: dict[str, Any], site: Path | None = None,
                  roles: tuple[str, ...] | None = None) -> str | None:
    """Which recorded input file (model, labels; or only those of ``roles``) changed since the build, if any:
    a clause such as "the model file /x/model.keras changed", which callers end with "since the build". A file
    that is no longer there cannot be compared, so it is not stale (:func:`missing_sources` names it).
    ``site``: the folder of the report, where inputs that moved with it are looked for (:func:`source_path`)."""
    for role, record in data.get("sources", {}).items():
        if roles is not None and role not in roles:
            continue
        path = source_path(record, site)
        if path is not None and path.is_file() and content_sha256(path) != record["sha256"]:
            return f"the {role} file {path} changed"
    return None


def missing_sources(data: dict[str, Any], site: Path | None = None) -> list[str]:
    """The recorded input files that are no longer where the build read them (deleted, moved, or a site
    built on another machine), as clauses such as "the model file /x/model.keras is not there": whether the
    site is still fresh cannot be told from them."""
    missing = []
    for role, record in data.get("sources", {}).items():
        path = source_path(record, site)
        if path is None:
            missing.append(f"the {role} file {record.get('name', role)} is not known on this machine (built "
                           "elsewhere?)")
        elif not path.is_file():
            missing.append(f"the {role} file {record['path']} is not there")
    return missing


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)
