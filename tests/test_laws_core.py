"""Golden values of the core laws and the closed-form compute-optimal allocation."""

import numpy as np
import pytest

from scalinglaws import InputError, compute_optimal, get_law, predict
from scalinglaws.fitting import Fit, Loss
from scalinglaws.laws import CHINCHILLA, CHINCHILLA_PUBLISHED, CHINCHILLA_ROUNDED, KAPLAN, KAPLAN_PUBLISHED


def published_fit(law, params):
    return Fit(law, params, 0.0, Loss(), 0, "converged")


@pytest.mark.parametrize(("n", "d", "expected"), [(1e9, 1e10, 2.4197), (1.5e9, 1e11, 2.2640)])
def test_kaplan_joint_law_matches_reference(n, d, expected):
    # REFERENCE.md §1.2 [recomputed], 4 decimals.
    assert KAPLAN(KAPLAN_PUBLISHED, N=n, D=d) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(("params", "expected"), [(CHINCHILLA_ROUNDED, 1.9366), (CHINCHILLA_PUBLISHED, 1.9208)])
def test_chinchilla_loss_at_70b_1_4t(params, expected):
    assert CHINCHILLA(params, N=70e9, D=1.4e12) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(
    ("params", "n_opt", "d_opt", "ratio", "loss"),
    [
        (CHINCHILLA_ROUNDED, 3.22e10, 2.98e12, 92.6, 1.9307),
        (CHINCHILLA_PUBLISHED, 4.04e10, 2.38e12, 58.9, 1.9184),
    ],
)
def test_closed_form_allocation_matches_reference(params, n_opt, d_opt, ratio, loss):
    # REFERENCE.md §1.3: values printed to 3 significant digits (N*, D*, D/N) and 5 (L*).
    a = compute_optimal(published_fit(CHINCHILLA, params), 5.76e23)
    assert a.N == pytest.approx(n_opt, rel=2e-3)
    assert a.D == pytest.approx(d_opt, rel=2e-3)
    assert a.tokens_per_param == pytest.approx(ratio, rel=1e-3)
    assert a.loss == pytest.approx(loss, abs=5e-5)
    assert a.C == 5.76e23
    assert 6 * a.N * a.D == pytest.approx(5.76e23, rel=1e-12)


def test_rounding_moves_n_opt_by_about_twenty_percent():
    rounded = compute_optimal(published_fit(CHINCHILLA, CHINCHILLA_ROUNDED), 5.76e23).N
    exact = compute_optimal(published_fit(CHINCHILLA, CHINCHILLA_PUBLISHED), 5.76e23).N
    assert 0.18 < 1 - rounded / exact < 0.22


@pytest.mark.parametrize("compute", [1e18, 5.76e23, 1e27])
def test_numeric_allocation_equals_closed_form(compute):
    f = published_fit(CHINCHILLA, CHINCHILLA_PUBLISHED)
    closed = compute_optimal(f, compute, method="closed")
    numeric = compute_optimal(f, compute, method="numeric")
    assert numeric.N == pytest.approx(closed.N, rel=1e-6)
    assert numeric.D == pytest.approx(closed.D, rel=1e-6)
    assert numeric.loss == pytest.approx(closed.loss, rel=1e-12)


def test_kaplan_allocation_is_interior_and_on_budget():
    f = published_fit(KAPLAN, KAPLAN_PUBLISHED)
    a = compute_optimal(f, 1e22)
    assert 6 * a.N * a.D == pytest.approx(1e22, rel=1e-9)
    # The loss at the optimum is below the loss at half and double the size.
    for factor in (0.5, 2.0):
        n = a.N * factor
        assert a.loss < KAPLAN(KAPLAN_PUBLISHED, N=n, D=1e22 / (6 * n))


def test_power_law_needs_a_variable():
    with pytest.raises(InputError, match="power:N, power:D, power:C, power:step"):
        get_law("power")
    assert get_law("power:D").variables == ("D",)


def test_unknown_law_lists_the_catalogue():
    with pytest.raises(InputError, match="unknown law 'chinchila'.*chinchilla"):
        get_law("chinchila")


def test_law_call_names_missing_inputs():
    with pytest.raises(InputError, match="missing D"):
        CHINCHILLA(CHINCHILLA_PUBLISHED, N=1e9)


def test_compute_optimal_rejects_bad_budget_and_laws():
    f = published_fit(CHINCHILLA, CHINCHILLA_PUBLISHED)
    with pytest.raises(InputError, match="--compute must be a positive number"):
        compute_optimal(f, -1.0)
    power = published_fit(get_law("power:N"), {"E": 1.0, "A": 10.0, "alpha": 0.3})
    with pytest.raises(InputError, match="not a law in N and D"):
        compute_optimal(power, 1e20)


def test_predict_broadcasts_and_validates():
    f = published_fit(CHINCHILLA, CHINCHILLA_PUBLISHED)
    values = predict(f, N=np.array([1e9, 1e10]), D=2e10)
    assert values.shape == (2,)
    assert values[0] > values[1]
    with pytest.raises(InputError, match="input N must be a finite number > 0"):
        predict(f, N=0.0, D=1e9)
    with pytest.raises(InputError, match="unknown input"):
        predict(f, N=1e9, D=1e9, X=3)
