"""How bench pools the site's rounds into one row per backend (the rounds themselves run in Chromium:
tests/e2e/test_bench.py)."""

from __future__ import annotations

from builder.bench.run import _site_row


def _round(load: float, first: float | None, times: list[float], warm: list[float], startups: list[dict],
           cold: float = 500.0) -> dict:
    return {"load_ms": load, "first_inference_ms": first, "times": times, "inference_ms": [t - 1 for t in times],
            "cold_first_ms": cold, "warm_firsts": warm, "warm_startups": startups, "bytes_first": 1000,
            "bytes_return": 0, "threads": 2}


def test_the_rounds_are_pooled_and_the_firsts_are_the_better_round():
    """Load, first inference and cold first prediction: the better round (a slow spell hurts a first run most);
    the timed classifications and the return visits: every round's."""
    row = _site_row([
        _round(300, 90, [10, 11, 12], [200, 210, 220], [{"worker": 5, "model": 50}] * 3, cold=600),
        _round(250, 120, [20, 21, 22], [230, 240, 250], [{"worker": 7, "model": 70}] * 3, cold=550),
    ])
    assert (row["load_ms"], row["first_inference_ms"], row["cold_first_prediction_ms"]) == (250, 90, 550)
    assert row["runs"] == 6 and row["median_ms"] == 16 and row["inference_median_ms"] == 15
    assert row["warm_visits"] == 6 and row["warm_first_prediction_ms"] == 225
    assert row["warm_startup_ms"] == {"worker": 6, "model": 60}


def test_a_figure_one_round_lacks_comes_from_the_others():
    """A round whose page kept no first-inference time, or a return visit that reported a stage empty, does not
    blank the figure that the other rounds and visits measured."""
    row = _site_row([
        _round(300, None, [10, 11, 12], [200], [{"worker": 5, "model": 50}]),
        _round(250, 120, [20, 21, 22], [230], [{"worker": 7}]),
    ])
    assert row["first_inference_ms"] == 120
    assert row["warm_startup_ms"] == {"worker": 6, "model": 50}


def test_a_round_that_failed_makes_the_row_say_so():
    row = _site_row([_round(300, 90, [10, 11, 12], [200], [{}]), {"error": "the webgl backend did not start"}])
    assert row == {"error": "the webgl backend did not start"}
