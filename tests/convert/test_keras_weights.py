"""KerasWeights puts written (folded, quantized) weights back into the Keras layers they came from: the
reference that the self-check and --quantize auto trust."""

from __future__ import annotations

import numpy as np

from builder.convert import layers_model
from builder.convert.keras_weights import KerasWeights
from tests import helpers

SIZE = 48


def _model():
    return helpers.fine_tuned(SIZE, classes=5)


def test_folded_weights_loaded_back_compute_what_keras_computed_and_restore_leaves_it_as_it_was():
    model = _model()
    x = helpers.test_images(SIZE, 4).astype(np.float32) / 127.5 - 1
    before = [w.copy() for w in model.get_weights()]
    want = np.asarray(model(x, training=False))
    plan = layers_model.plan(model, "m")
    assert plan.summary.folded_batchnorms > 0  # the written weights really differ from Keras's own
    keras_weights = KerasWeights(plan.weights)
    keras_weights.load(lambda w: w.data)
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert any(changed)  # folded kernels and pinned BatchNorms are in place...
    # ...computing the same, but for float32 rounding of the folds, which the network amplifies.
    np.testing.assert_allclose(np.asarray(model(x, training=False)), want, atol=1e-4)
    keras_weights.restore()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_loading_some_layers_changes_only_their_output():
    model = _model()
    x = helpers.test_images(SIZE, 4).astype(np.float32) / 127.5 - 1
    plan = layers_model.plan(model, "m")
    keras_weights = KerasWeights(plan.weights)
    keras_weights.load(lambda w: w.data)
    reference = np.asarray(model(x, training=False))
    [head] = [w for w in plan.weights if w.name.endswith("/kernel") and w.data.ndim == 2]
    keras_weights.load_layers({keras_weights.layer_of(head)}, lambda w: w.data * 0 if w is head else w.data)
    zeroed = np.asarray(model(x, training=False))
    # With the dense head's kernel zeroed, only its bias remains: every image gets the same answer.
    assert np.ptp(zeroed, axis=0).max() < 1e-6 and np.ptp(reference, axis=0).max() > 1e-3
    keras_weights.load(lambda w: w.data)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), reference, atol=1e-7)
