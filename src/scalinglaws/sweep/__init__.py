"""Sweeps: many backtests (dataset or family x law x split x bootstrap) run as independent jobs.

Read a YAML spec with :func:`load_spec`, run it with :func:`run_sweep`
(locally on all cores, or on Ray), and get one row per job in
:attr:`SweepResult.table`; a results file lets a rerun skip finished jobs.
"""

from .jobs import ROW_COLUMNS, Job, SweepPlan, expand, job_id, run_job
from .run import StaleResultsWarning, SweepResult, read_results, run_sweep, write_results
from .spec import BootstrapSpec, DatasetSpec, SplitSpec, SweepSpec, load_spec, parse_spec

__all__ = [
    "ROW_COLUMNS",
    "BootstrapSpec",
    "DatasetSpec",
    "Job",
    "SplitSpec",
    "StaleResultsWarning",
    "SweepPlan",
    "SweepResult",
    "SweepSpec",
    "expand",
    "job_id",
    "load_spec",
    "parse_spec",
    "read_results",
    "run_job",
    "run_sweep",
    "write_results",
]
