"""Where a TF.js inference's time goes, thread by thread: V8's sampling CPU profiler, read from a Chromium trace.

``browsernet bench --profile DIR`` traces the site's layers model on WASM in the bench harness (one
thread, and every CPU) with the trace category :data:`CATEGORIES`, writes each trace to ``DIR`` (open
it in Perfetto, https://ui.perfetto.dev, or chrome://tracing) and summarises it here. Every thread
that ran JavaScript or WebAssembly is sampled: the page's main thread, which calls the model, and
TF.js's WASM thread-pool helpers (Emscripten pthreads: dedicated workers).

Each sample is the function on top of that thread's stack, so a thread's samples over its sampled
time are a wall-clock profile: a helper blocked in ``Atomics.wait`` is sampled in the
JavaScript-to-WebAssembly call frame it blocks in. The summary puts each sample in one category:

* ``wasm``: TF.js's WebAssembly binary (its kernels: XNNPACK's convolutions and the thread pool),
  named ``wasm-function[N]`` because the binary has no name section;
* ``javascript``: TF.js's and the page's JavaScript (the layers model's per-layer calls, kernel
  dispatch, tensor bookkeeping), including the call frames into the binary;
* ``gc``: V8's garbage collector; ``other``: V8's own work and samples outside JavaScript.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

CATEGORIES = ("disabled-by-default-v8.cpu_profiler", "v8.execute", "toplevel")
KINDS = ("wasm", "javascript", "gc", "other")
TOP_FUNCTIONS = 5  # WASM functions listed per thread


def summarise(trace: dict[str, Any] | list[dict[str, Any]], inferences: int) -> dict[str, dict[str, Any]]:
    """Per sampled thread of a Chromium trace (``Tracing`` JSON with V8 ``Profile``/``ProfileChunk``
    events): ``{"ms": sampled wall time, "ms_per_inference", "samples", "shares": {kind: fraction of
    the samples} for kind in KINDS, "top_wasm": [[function, fraction], ...]}``, keyed by thread
    ("main", "helper 1", ...: the trace's thread names, numbered). ``inferences``: how many ran while
    tracing. Threads with no samples are left out; an empty dict means the trace had no CPU profile
    (Chromium without the profiler category)."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    thread_names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
                    if e.get("ph") == "M" and e.get("name") == "thread_name"}
    profiles: dict[tuple, dict[str, Any]] = {}
    for e in events:
        if e.get("name") == "Profile":
            profiles[(e["pid"], e["id"])] = {"thread": (e["pid"], e["tid"]), "nodes": {}, "samples": [], "deltas": []}
    for e in events:
        profile = profiles.get((e.get("pid"), e.get("id"))) if e.get("name") == "ProfileChunk" else None
        if profile is None:
            continue
        data = e["args"]["data"]
        cpu = data.get("cpuProfile", {})
        profile["nodes"].update({node["id"]: node["callFrame"] for node in cpu.get("nodes", [])})
        profile["samples"] += cpu.get("samples", [])
        profile["deltas"] += data.get("timeDeltas", [])
    out: dict[str, dict[str, Any]] = {}
    helpers = 0
    for profile in sorted(profiles.values(), key=lambda p: p["thread"]):
        if not profile["samples"]:
            continue
        name = thread_names.get(profile["thread"], "")
        if name == "CrRendererMain":
            label = "main"
        else:
            helpers += 1
            label = f"helper {helpers}" if name.startswith("DedicatedWorker") else f"{name or 'thread'} {helpers}"
        kinds: Counter[str] = Counter()
        functions: Counter[str] = Counter()
        for node_id in profile["samples"]:
            frame = profile["nodes"][node_id]
            kind = _kind(frame)
            kinds[kind] += 1
            if kind == "wasm":
                functions[frame.get("functionName", "")] += 1
        count = sum(kinds.values())
        ms = sum(profile["deltas"][1:]) / 1000  # microseconds between the first and the last sample
        out[label] = {
            "ms": round(ms, 1),
            "ms_per_inference": round(ms / inferences, 2) if inferences else None,
            "samples": count,
            "shares": {kind: round(kinds[kind] / count, 4) for kind in KINDS},
            "top_wasm": [[fn, round(n / count, 4)] for fn, n in functions.most_common(TOP_FUNCTIONS)],
        }
    return out


def _kind(frame: dict[str, Any]) -> str:
    name, url = frame.get("functionName", ""), frame.get("url", "")
    if name == "(garbage collector)":
        return "gc"
    if name in ("(idle)", "(program)", "(root)") or (not url and not name):
        return "other"
    if frame.get("codeType") == "wasm" or url.startswith("wasm://") or name.startswith("wasm-function["):
        return "wasm"
    return "javascript"


def write(trace: bytes, path: Path) -> dict[str, Any]:
    """Write the raw trace to ``path`` (for Perfetto) and return it parsed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(trace)
    return json.loads(trace)


def describe(config: str, threads: dict[str, dict[str, Any]]) -> str:
    """One line for bench's table: each thread's sampled time per inference by kind, e.g.
    ``wasm profile, ms per inference: main 30.1 wasm + 3.4 js + 0.1 gc; helper 1 ...``."""
    parts = []
    for label, figures in threads.items():
        per = figures["ms_per_inference"] or 0
        shares = figures["shares"]
        parts.append(f"{label} {per * shares['wasm']:.1f} wasm + {per * shares['javascript']:.1f} js + "
                     f"{per * shares['gc']:.1f} gc")
    return f"{config} profile, ms per inference: " + "; ".join(parts)
