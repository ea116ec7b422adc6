"""Each diagnostic warning, triggered by data made to trigger it (and silent on clean data)."""

import re
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
    # The largest Gemstones run: N = 2.0078e9, D = 1.0003e11, so C = 6 N D = 1.2051e21.
    assert result.data_range["C"][1] == pytest.approx(1.205114e21, rel=1e-5)
    with pytest.warns(ExtrapolationWarning) as record:
        sl.predict(result, N=8e10, D=1e11)
    assert [str(w.message) for w in record] == [
        "N = 8e+10 is 40x the largest N fitted (2.01e+09)",
        "C = 4.8e+22 is 40x the largest compute fitted (1.21e+21)",
    ]


def test_inside_the_data_no_extrapolation_warning():
    result = sl.fit("dataset:gemstones", "chinchilla")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        sl.predict(result, N=1e9, D=5e11)  # 5x the largest D: inside the 10x tolerance


def test_loss_without_a_token_effect_puts_b_on_its_bound():
    # Loss that depends on N alone: the D term has nothing to fit, so B goes to its bound 0.
    ladder = chinchilla_ladder()
    frame = pd.DataFrame({**ladder, "loss": 1.8 + 400 * ladder["N"] ** -0.34})
    with pytest.warns(BoundWarning) as record:
        result = sl.fit(frame, "chinchilla")
    messages = [str(w.message) for w in record]
    assert any(re.fullmatch(r"parameter B = \S+ is at its bound 0; the data may not identify it", m) for m in messages), messages
    assert result.params["E"] == pytest.approx(1.8, rel=1e-6)
    assert result.params["alpha"] == pytest.approx(0.34, rel=1e-6)
    assert "parameter_at_bound" in codes(result)


def _ratio_ladder(raise_largest: float, noise: float = 0.005) -> pd.DataFrame:
    # 7 sizes x 5 tokens-per-parameter ratios: no three sizes share a D, so slices of fixed D see nothing.
    n = np.repeat([1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9], 5)
    d = n * np.tile([5.0, 10.0, 20.0, 40.0, 80.0], 7)
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=noise, seed=3, N=n, D=d)
    frame = runs.table[["N", "D", "loss"]].copy()
    frame.loc[frame["N"] == n.max(), "loss"] += raise_largest
    return frame


def test_loss_rising_at_the_largest_sizes_warns_along_lines_of_fixed_tokens_per_parameter():
    with pytest.warns(NonMonotoneWarning, match=r"loss rises with N at the largest sizes along 100% of 5 line\(s\) of fixed tokens per parameter"):
        result = sl.fit(_ratio_ladder(0.5), "chinchilla")
    assert "non_monotone" in codes(result)


def test_ratio_ladder_without_a_rise_does_not_warn_non_monotone():
    result = sl.fit(_ratio_ladder(0.0), "chinchilla")
    assert "non_monotone" not in codes(result)


@pytest.mark.parametrize("name", ["gemstones", "gemstones_350b", "gpt3", "opt"])
def test_bundled_loss_datasets_are_not_called_non_monotone(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)  # other diagnostics (residual trends) are expected on some
        result = sl.fit(f"dataset:{name}", "chinchilla")
    assert "non_monotone" not in codes(result)
