"""Learning-rate schedules as per-step arrays, and the text specs that name them.

A schedule is a small frozen declaration (kind, peak LR, warm-up, decay) and
:func:`learning_rates` turns it into the array ``eta`` with ``eta[i]`` the
learning rate of optimiser step ``i + 1`` (steps count from 1, so that the
loss logged at step ``s`` was produced by ``eta[:s]``).

Kinds (every one has a linear warm-up from ``peak / warmup`` to ``peak``):

- ``constant``: the peak LR throughout.
- ``cosine``: half a cosine from the peak to ``min_ratio * peak`` at the last step.
- ``linear``: a straight line from the peak to ``min_ratio * peak``.
- ``wsd``: warm-up, stable at the peak, then a decay over the last ``decay``
  fraction of the steps, shaped ``linear``, ``cosine`` or ``sqrt``
  (``1 - sqrt(x)``, the cooldown of Hägele et al. 2024).
- ``cooldown`` (alias ``constant+cooldown``): a constant-LR run with a
  cooldown of ``cooldown`` steps at its end, ``sqrt``-shaped by default
  (Hägele et al. 2024, REFERENCE.md §2.3). Branching cooldowns of several
  lengths from one constant run gives a family of such schedules.

Specs read ``KIND:KEY=VALUE,...``, e.g. ``wsd:peak=3e-4,warmup=500,decay=0.2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

SCHEDULE_KINDS = ("constant", "cosine", "linear", "wsd", "cooldown")
DECAY_SHAPES = ("linear", "cosine", "sqrt")
ALIASES = {"constant+cooldown": "cooldown", "warmup-stable-decay": "wsd"}

#: Keys each kind accepts in a spec.
KEYS: dict[str, tuple[str, ...]] = {
    "constant": ("peak", "warmup", "steps"),
    "cosine": ("peak", "warmup", "min_ratio", "steps"),
    "linear": ("peak", "warmup", "min_ratio", "steps"),
    "wsd": ("peak", "warmup", "decay", "shape", "min_ratio", "steps"),
    "cooldown": ("peak", "warmup", "cooldown", "shape", "min_ratio", "steps"),
}
EXAMPLE = "wsd:peak=3e-4,warmup=500,decay=0.2"


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule, independent of its length unless ``steps`` is given.

    Attributes
    ----------
    kind: one of ``constant``, ``cosine``, ``linear``, ``wsd``, ``cooldown``.
    peak: the peak learning rate (> 0).
    warmup: steps of linear warm-up to the peak (0 for none).
    min_ratio: the final LR as a fraction of the peak (decaying kinds).
    decay: fraction of all steps spent decaying (``wsd``).
    cooldown: steps of cooldown at the end (``cooldown``).
    shape: decay shape of ``wsd`` and ``cooldown``: ``linear``, ``cosine`` or ``sqrt``.
    steps: total steps, when the schedule fixes them.
    """

    kind: str
    peak: float
    warmup: int = 0
    min_ratio: float = 0.0
    decay: float = 0.2
    cooldown: int | None = None
    shape: str = ""
    steps: int | None = None

    def __post_init__(self) -> None:
        kind = ALIASES.get(self.kind, self.kind)
        if kind not in SCHEDULE_KINDS:
            raise InputError(f"unknown schedule kind {self.kind!r}; choose one of {', '.join(SCHEDULE_KINDS)} (e.g. {EXAMPLE})")
        object.__setattr__(self, "kind", kind)
        if not self.shape:
            object.__setattr__(self, "shape", "sqrt" if kind == "cooldown" else "linear")
        if not (isinstance(self.peak, (int, float)) and math.isfinite(self.peak) and self.peak > 0):
            raise InputError(f"schedule peak must be a learning rate > 0, got {self.peak!r}")
        _check_int(self.warmup, "warmup", minimum=0)
        if not (0.0 <= self.min_ratio < 1.0):
            raise InputError(f"schedule min_ratio must be in [0, 1) (final LR as a fraction of the peak), got {self.min_ratio!r}")
        if not (0.0 < self.decay <= 1.0):
            raise InputError(f"schedule decay must be a fraction of the steps in (0, 1], got {self.decay!r}")
        if self.shape not in DECAY_SHAPES:
            raise InputError(f"schedule shape must be one of {', '.join(DECAY_SHAPES)}, got {self.shape!r}")
        if kind == "cooldown":
            if self.cooldown is None:
                raise InputError("schedule 'cooldown' needs cooldown=STEPS (the length of the cooldown), e.g. cooldown:peak=1e-3,cooldown=2000")
            _check_int(self.cooldown, "cooldown", minimum=1)
        if self.steps is not None:
            _check_int(self.steps, "steps", minimum=1)
            _check_length(self, self.steps)

    def spec(self) -> str:
        """The canonical text of this schedule (parsed back by :func:`parse_schedule`)."""
        parts = []
        for key in KEYS[self.kind]:
            value = getattr(self, key)
            default = {"warmup": 0, "min_ratio": 0.0, "steps": None, "decay": 0.2,
                       "shape": "sqrt" if self.kind == "cooldown" else "linear"}.get(key, object())
            if value == default and key != "peak":
                continue
            parts.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
        return f"{self.kind}:{','.join(parts)}"


def _check_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"schedule {name} must be an integer >= {minimum}, got {value!r}")


def _check_length(schedule: Schedule, steps: int) -> None:
    if schedule.warmup >= steps:
        raise InputError(f"schedule warmup ({schedule.warmup} steps) must be shorter than the run ({steps} steps)")
    if schedule.kind == "cooldown" and schedule.cooldown is not None and schedule.warmup + schedule.cooldown > steps:
        raise InputError(f"schedule cooldown ({schedule.cooldown} steps) plus warmup ({schedule.warmup}) exceeds the run ({steps} steps)")
    if schedule.kind == "wsd" and int(round(schedule.decay * steps)) > steps - schedule.warmup:
        raise InputError(f"schedule decay ({schedule.decay:g} of {steps} steps) overlaps the warmup ({schedule.warmup} steps)")


def parse_schedule(text: str | Schedule) -> Schedule:
    """Parse a spec such as ``"wsd:peak=3e-4,warmup=500,decay=0.2"``.

    Keys: ``peak`` (required), ``warmup``, ``min_ratio``, ``decay`` (wsd),
    ``cooldown`` (cooldown), ``shape`` (wsd, cooldown), ``steps``.

    Raises
    ------
    InputError
        Naming the unknown kind or key, or the value that is not a number.

    Examples
    --------
    >>> parse_schedule("cosine:peak=1e-3,warmup=100,steps=5000").kind
    'cosine'
    """
    if isinstance(text, Schedule):
        return text
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"a schedule spec must be text like {EXAMPLE!r}, got {text!r}")
    kind, _, rest = text.strip().partition(":")
    kind = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if kind not in SCHEDULE_KINDS:
        raise InputError(f"unknown schedule kind {kind!r} in {text!r}; choose one of {', '.join(SCHEDULE_KINDS)} (e.g. {EXAMPLE})")
    values: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not key or not value:
            raise InputError(f"schedule option {item!r} in {text!r} must look like KEY=VALUE (e.g. {EXAMPLE})")
        if key not in KEYS[kind]:
            raise InputError(f"schedule {kind!r} takes the keys {', '.join(KEYS[kind])}; got unknown key {key!r} in {text!r}")
        if key in values:
            raise InputError(f"schedule key {key!r} is given twice in {text!r}")
        values[key] = _parse_value(key, value, text)
    if "peak" not in values:
        raise InputError(f"schedule {text!r} needs peak=LR (the peak learning rate), e.g. {kind}:peak=3e-4")
    return Schedule(kind=kind, **values)  # type: ignore[arg-type]


def _parse_value(key: str, value: str, text: str) -> object:
    if key == "shape":
        if value not in DECAY_SHAPES:
            raise InputError(f"schedule shape must be one of {', '.join(DECAY_SHAPES)}, got {value!r} in {text!r}")
        return value
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"schedule {key} must be a number, got {value!r} in {text!r}") from None
    if key in ("warmup", "cooldown", "steps"):
        if not math.isfinite(number) or number != int(number):
            raise InputError(f"schedule {key} must be a whole number of steps, got {value!r} in {text!r}")
        return int(number)
    return number


def learning_rates(schedule: Schedule | str, steps: int | None = None) -> np.ndarray:
    r"""The learning rate of every step, ``eta[i]`` for step ``i + 1``.

    Warm-up is linear, :math:`\eta_i = \eta_{peak}\, i / W` for :math:`i \le W`;
    afterwards the kind's shape over the remaining steps, ending at
    ``min_ratio * peak`` on the last step.

    Parameters
    ----------
    schedule:
        A :class:`Schedule` or a spec string.
    steps:
        Total steps; needed unless the schedule fixes them (``steps=`` in the
        spec). Giving both with different values is an error.

    Returns
    -------
    numpy.ndarray
        Shape ``(steps,)``.

    Examples
    --------
    >>> learning_rates("wsd:peak=1,decay=0.5", 4).tolist()
    [1.0, 1.0, 0.5, 0.0]
    """
    schedule = parse_schedule(schedule)
    if steps is None:
        if schedule.steps is None:
            raise InputError(f"schedule {schedule.spec()!r} has no length: give the number of steps (--steps N, or steps= in the spec)")
        steps = schedule.steps
    elif schedule.steps is not None and int(steps) != schedule.steps:
        raise InputError(f"the number of steps is given twice and differs: {steps} and steps={schedule.steps} in {schedule.spec()!r}")
    _check_int(steps, "steps", minimum=1)
    steps = int(steps)
    _check_length(schedule, steps)
    i = np.arange(1, steps + 1, dtype=float)
    peak, floor, w = schedule.peak, schedule.min_ratio * schedule.peak, schedule.warmup
    # Progress through the main phase, in (0, 1]: the last step reaches the floor.
    x = (i - w) / (steps - w)
    if schedule.kind == "constant":
        eta = np.full(steps, peak)
    elif schedule.kind == "cosine":
        eta = floor + (peak - floor) * 0.5 * (1.0 + np.cos(np.pi * x))
    elif schedule.kind == "linear":
        eta = floor + (peak - floor) * (1.0 - x)
    else:
        length = int(round(schedule.decay * steps)) if schedule.kind == "wsd" else int(schedule.cooldown or 0)
        start = steps - length  # last step at the peak
        y = np.clip((i - start) / max(length, 1), 0.0, 1.0)
        eta = floor + (peak - floor) * decay_shape(schedule.shape, y)
    if w:
        eta = np.where(i <= w, peak * i / w, eta)
    return eta


def decay_shape(shape: str, x: np.ndarray) -> np.ndarray:
    """The fraction of the (peak - floor) gap left at decay progress ``x`` in [0, 1]."""
    if shape == "linear":
        return 1.0 - x
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(np.pi * x))
    if shape == "sqrt":
        return 1.0 - np.sqrt(x)
    raise InputError(f"decay shape must be one of {', '.join(DECAY_SHAPES)}, got {shape!r}")


def schedule_names() -> tuple[str, ...]:
    return SCHEDULE_KINDS


__all__ = ["DECAY_SHAPES", "SCHEDULE_KINDS", "Schedule", "decay_shape", "learning_rates", "parse_schedule", "schedule_names"]
