"""scalinglaws: from a ladder of small training runs to a forecast and a compute plan."""

__version__ = "0.1.0"

from . import datasets  # noqa: E402  (scalinglaws.datasets.load(NAME) after `import scalinglaws`)
from .data import Runs, read_runs, read_table  # noqa: E402
from .errors import FitError, InputError, ScalingLawsError  # noqa: E402
from .fitting import Fit, Loss, fit, load_fit  # noqa: E402
from .hparams import critical_batch_size, fit_hparam_sweep, recommend  # noqa: E402
from .laws import Law, Parameter, get_law, law_names, pair_losses, register_law  # noqa: E402
from .observational import ObservationalFit, observational_fit  # noqa: E402
from .passuntil import PassUntilFit, passuntil_fit  # noqa: E402
from .planning import Allocation, compute_optimal  # noqa: E402
from .predict import Prediction, predict, predict_points  # noqa: E402
from .task import TaskLadder, task_ladder  # noqa: E402  (registers the sigmoid laws)

__all__ = [
    "Allocation",
    "Fit",
    "FitError",
    "InputError",
    "Law",
    "Loss",
    "ObservationalFit",
    "Parameter",
    "PassUntilFit",
    "Prediction",
    "Runs",
    "ScalingLawsError",
    "TaskLadder",
    "__version__",
    "compute_optimal",
    "critical_batch_size",
    "datasets",
    "fit",
    "fit_hparam_sweep",
    "get_law",
    "law_names",
    "load_fit",
    "observational_fit",
    "pair_losses",
    "passuntil_fit",
    "predict",
    "predict_points",
    "read_runs",
    "read_table",
    "recommend",
    "register_law",
    "task_ladder",
]
