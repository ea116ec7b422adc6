"""Learning curves over a training run, under a learning-rate schedule (REFERENCE.md §2).

- :mod:`.schedules`: per-step LR arrays (constant, cosine, linear, WSD,
  constant + cooldown, all with warm-up) and the ``KIND:KEY=VALUE`` specs.
- :mod:`.areas`: the forward area S1 and annealing area S2 (momentum lambda).
- :mod:`.laws`: the LR-annealing law (Tissue et al. 2024) and the
  multi-power law (Luo et al. 2025).
- :mod:`.fit`: :func:`fit_curves`, a joint multi-start fit of several runs.
- :mod:`.predict`: whole curves for unseen schedules.
- :mod:`.forecast`: forecasts of runs in progress (with a prior fit of other
  runs and a profile-likelihood range) and their backtests.
- :mod:`.backtest`: backtests of the laws on held-out schedules.
"""

from .areas import annealing_area, areas, discounted_cumsum, effective_lr, forward_area, warmup_length
from .backtest import ScheduleBacktest, backtest_schedules
from .checks import ScheduleExtrapolationWarning, ScheduleMismatchWarning, ZeroLearningRateWarning, schedule_summary
from .data import Curve, bin_curve, lr_from_log, read_curves, schedule_curve, truncate_curve
from .fit import fit_curves
from .laws import CURVE_LAWS, LR_ANNEALING, MULTI_POWER, CurveLaw, curve_law_names, get_curve_law, register_curve_law
from .forecast import RunForecast, backtest_forecast, forecast_run
from .predict import CurvePrediction, predict_curve
from .result import CurveFit, load_curve_fit
from .schedules import SCHEDULE_KINDS, Schedule, learning_rates, parse_schedule

__all__ = [
    "CURVE_LAWS",
    "LR_ANNEALING",
    "MULTI_POWER",
    "SCHEDULE_KINDS",
    "Curve",
    "CurveFit",
    "CurveLaw",
    "CurvePrediction",
    "RunForecast",
    "ScheduleBacktest",
    "Schedule",
    "ScheduleExtrapolationWarning",
    "ScheduleMismatchWarning",
    "ZeroLearningRateWarning",
    "annealing_area",
    "areas",
    "backtest_forecast",
    "backtest_schedules",
    "bin_curve",
    "curve_law_names",
    "discounted_cumsum",
    "effective_lr",
    "fit_curves",
    "forecast_run",
    "forward_area",
    "get_curve_law",
    "learning_rates",
    "load_curve_fit",
    "lr_from_log",
    "parse_schedule",
    "predict_curve",
    "read_curves",
    "register_curve_law",
    "schedule_curve",
    "schedule_summary",
    "truncate_curve",
    "warmup_length",
]
