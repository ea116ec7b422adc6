"""Each diagnostic warning, triggered by data made to trigger it (and silent on clean data)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.errors import BoundWarning, ExtrapolationWarning, IdentifiabilityWarning, NonMonotoneWarning, ResidualTrendWarning, ScalingLawWarning
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs


def codes(result):
    return {w.code for w in result.warnings}


def test_clean_ladder_raises_no_warning():
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.01, seed=1, **chinchilla_ladder())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScalingLawWarning)
        result = sl.fit(runs, "chinchilla")
    assert result.warnings == ()


def test_two_model_sizes_do_not_identify_the_law():
    n = np.repeat([1e8, 1e9], 6)
    d = np.tile(np.geomspace(1e9, 1e11, 6), 2)
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.002, seed=1, N=n, D=d)
    with pytest.warns(IdentifiabilityWarning) as record:
        result = sl.fit(runs, "chinchilla")
    assert any("only 2 distinct N value" in str(w.message) for w in record)
    assert "identifiability" in codes(result)
    assert any("ill-conditioned" in w.message for w in result.warnings)


def test_narrow_token_range_is_ill_conditioned():
    n = np.repeat(np.geomspace(1e8, 1e9, 6), 3)
    d = np.tile([1e10, 1.025e10, 1.05e10], 6)
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.002, seed=1, N=n, D=d)
    with pytest.warns(ScalingLawWarning) as record:
        result = sl.fit(runs, "chinchilla")
    assert any(issubclass(w.category, (IdentifiabilityWarning, BoundWarning)) for w in record)
    assert codes(result) & {"identifiability", "parameter_at_bound"}


def test_missed_shape_shows_as_residual_trend():
    # A sum of two power laws fitted with one: smooth, same-signed residual runs.
    x = np.geomspace(1e6, 1e10, 25)
    frame = pd.DataFrame({"N": x, "loss": 1.5 + 30 * x**-0.25 + 2e3 * x**-0.6})
    with pytest.warns(ResidualTrendWarning, match="Durbin-Watson 0.29 over 25 values"):
        sl.fit(frame, "power:N")


def test_u_shaped_data_warns_for_a_monotone_law():
    x = np.geomspace(1e6, 1e10, 25)
    frame = pd.DataFrame({"N": x, "loss": 2 + 0.075 * (np.log10(x) - 8) ** 2})
    with pytest.warns(ScalingLawWarning) as record:
        result = sl.fit(frame, "power:N")
    assert any(w.category is NonMonotoneWarning and "inverse or U-shaped scaling" in str(w.message) for w in record)
    assert {"non_monotone", "residual_trend"} <= codes(result)


def test_extrapolation_says_how_far():
    result = sl.fit("dataset:gemstones", "chinchilla")
    with pytest.warns(ExtrapolationWarning, match=r"N = 8e\+10 is 40x the largest N fitted"):
        sl.predict(result, N=8e10, D=1e11)
