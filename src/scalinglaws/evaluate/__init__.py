"""Backtests, law comparison and fit diagnostics."""

from .backtest import Backtest, LawBacktest, backtest, backtest_groups, drop_early, split_mask
from .diagnostics import diagnose

__all__ = ["Backtest", "LawBacktest", "backtest", "backtest_groups", "diagnose", "drop_early", "split_mask"]
