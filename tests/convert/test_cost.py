"""Parameter and multiply-add counts, checked against the MobileNet papers' own tables."""

import pytest

from builder.convert import graph
from builder.convert import cost as stats
from tests.helpers import keras


@pytest.mark.parametrize("ctor, params_m, macs_m", [
    (keras.applications.MobileNet, 4.2, 569),  # Howard et al. 2017, Table 8 (1.0 MobileNet-224)
    (keras.applications.MobileNetV2, 3.5, 300),  # Sandler et al. 2018, Table 6 (counts BN too: 3.54M)
])
def test_counts_match_the_papers(ctor, params_m, macs_m):
    g = graph.from_keras(ctor(alpha=1.0, input_shape=(224, 224, 3), weights=None))
    assert stats.parameters(g) / 1e6 == pytest.approx(params_m, rel=0.03)
    assert stats.multiply_adds(g) / 1e6 == pytest.approx(macs_m, rel=0.03)


def test_width_multiplier_shrinks_cost_roughly_quadratically():
    def macs(alpha, size):
        return stats.multiply_adds(graph.from_keras(
            keras.applications.MobileNet(alpha=alpha, input_shape=(size, size, 3), weights=None)))
    full = macs(1.0, 128)
    assert 0.2 < macs(0.5, 128) / full < 0.32  # ~alpha^2 (the classifier does not shrink)
    assert macs(1.0, 64) / full == pytest.approx(0.25, rel=0.05)  # ~rho^2
