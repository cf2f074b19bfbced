"""`CalibrationMonitor`: a model wrapped for a search loop, checked in the background."""

from __future__ import annotations

import datetime as _dt
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..cells import Cell, as_cell
from .oracles import get_oracle
from .validator import Validator
from .wrappers import Recalibrated

__all__ = ["CalibrationMonitor"]

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hour": 3600.0, "hours": 3600.0}


def _parse_every(every) -> tuple[int | None, float | None]:
    """``(predictions, seconds)`` from ``every``: an int counts predicted cells; ``"30s"``,
    ``"5 min"``, ``"1h"`` or a ``timedelta`` are a period of time."""
    if isinstance(every, _dt.timedelta):
        seconds = every.total_seconds()
    elif isinstance(every, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", every.lower())
        if not m or m.group(2) not in _UNITS:
            raise ValueError(f"every={every!r}: give a number of predictions (int) or a period like '30s', "
                             "'5min', '1h'")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    elif isinstance(every, (int, np.integer)) and not isinstance(every, bool) and every >= 1:
        return int(every), None
    else:
        raise ValueError(f"every must be a positive number of predictions (int) or a period ('30s', "
                         f"timedelta), got {every!r}")
    if not seconds > 0:
        raise ValueError(f"every must be a positive period, got {every!r}")
    return None, seconds


def _cells_of(archs) -> list[Cell]:
    """The cells of a ``predict`` argument (one architecture or many)."""
    if isinstance(archs, (Cell, str)):
        return [as_cell(archs)]
    if isinstance(archs, np.ndarray) and archs.ndim == 1 and archs.dtype.kind in "iu":
        return [as_cell(tuple(archs.tolist()))]
    archs = list(archs)
    if archs and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in archs):
        return [as_cell(tuple(archs))]
    return [as_cell(a) for a in archs]


class CalibrationMonitor:
    """A model for a search loop that checks its own calibration as the search goes.

    ``predict`` and ``rank`` answer at once from the current model; every ``every`` predicted cells
    (or seconds) a validation round starts in a background thread, sampling from the cells the
    search asked about since the last round (their predicted top over-sampled) plus those named with
    :meth:`include`. A round never delays a prediction: if one is still running when the next is due,
    the next starts with the first prediction after it ends.

    After each round :attr:`latest` holds its report and :meth:`trusted` says whether it judged the
    model calibrated. With ``recalibrate=True`` the intervals served are steered by adaptive conformal
    inference (:class:`~surrogate.validate.Recalibrated`) between refits; with ``refit=True`` each
    round refits the model on the enlarged ground truth and the new model (with fresh ACI state)
    replaces the old one for the predictions after it.

    Args:
        model: a fitted model.
        oracle: ``"table"``, ``"simulate"`` or an Oracle (checked now: a ``ValueError`` if it cannot
            reproduce the model's profile).
        every: an int (predicted cells between rounds) or a period (``"30s"``, ``timedelta``).
        sample: cells per round.
        seed: round ``r`` (0, 1, ...) uses seed ``seed + r``.
        store: a store path (or a ``Store``, reopened by path in the round's thread).
        recalibrate, gamma: online recalibration and its step per measured point.
        max_candidates: how many recently predicted cells are kept to sample from.
        **options: more :class:`Validator` settings (``level``, ``alpha``, ``top_fraction``,
            ``top_share``, ``exclude``, ``ground_truth``, ``refit``...).
    """

    def __init__(self, model, oracle="table", every=100, *, sample: int = 4, seed: int = 0, store=None,
                 recalibrate: bool = True, gamma: float = 0.02, max_candidates: int = 20_000, **options):
        self._every_n, self._every_s = _parse_every(every)
        self.every = every
        self.sample = sample
        self.seed = seed
        self.store = getattr(store, "path", store)
        self.recalibrate = recalibrate
        self.gamma = gamma
        self.max_candidates = max_candidates
        self.options = dict(options)
        self.level = self.options.get("level", 0.9)
        source = self.options.pop("source", None)
        self._oracle = get_oracle(oracle, model, **({} if source is None else {"source": source}))
        Validator(model, self._oracle, sample, seed, **self.options)._check()
        self._lock = threading.Lock()
        self._model = model
        self._recal = Recalibrated(model, level=self.level, gamma=gamma) if recalibrate else None
        self._since = 0
        self._t_last = time.monotonic()
        self._seen: OrderedDict[Cell, None] = OrderedDict()
        self._named: list[Cell] = []
        self._rounds = 0
        self._future: Future | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.reports: list = []
        self.history: list[dict] = []
        self.last_error: BaseException | None = None
        self.n_predictions = 0
        self._closed = False

    # ------------------------------------------------------------------ the model's face
    @property
    def model(self):
        """What predictions come from now: the (refitted) model, recalibrated if asked."""
        return self._recal if self._recal is not None else self._model

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._model, name)

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9):
        """As the model's ``predict``; counts the cells and starts a round when one is due."""
        cells = _cells_of(archs)
        out = self.model.predict(archs, t_inference, training=training, level=level)
        with self._lock:
            self.n_predictions += len(cells)
            self._since += len(cells)
            for c in cells:
                self._seen[c] = None
                self._seen.move_to_end(c)
            while len(self._seen) > self.max_candidates:
                self._seen.popitem(last=False)
            due = (self._every_n is not None and self._since >= self._every_n) or \
                  (self._every_s is not None and time.monotonic() - self._t_last >= self._every_s)
        if due:
            self.trigger()
        return out

    def rank(self, archs, t_inference, training: str = "hwa") -> np.ndarray:
        """Indices of ``archs``, best first (through :meth:`predict`, so it counts too)."""
        acc = np.atleast_1d(self.predict(archs, t_inference, training=training).accuracy)
        if acc.ndim != 1:
            raise ValueError("rank takes one t_inference; rank each time separately")
        return np.argsort(-acc, kind="stable")

    def include(self, cells) -> None:
        """Measure these cells in the next round, whatever the sample (e.g. a search's proposals)."""
        with self._lock:
            self._named.extend(_cells_of(cells))

    # ------------------------------------------------------------------ rounds
    def trigger(self) -> bool:
        """Start a round now unless one is running; returns whether one started. Never blocks."""
        with self._lock:
            if self._closed or (self._future is not None and not self._future.done()):
                return False
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="surrogate-calibration")
            candidates = list(self._seen) or None
            named, self._named = self._named, []
            r, self._rounds = self._rounds, self._rounds + 1
            self._since, self._t_last = 0, time.monotonic()
            self._future = self._executor.submit(self._round, r, candidates, named, self._model, self._recal)
            return True

    def _round(self, r, candidates, named, model, recal):
        try:
            report = Validator(model, self._oracle, self.sample, self.seed + r, candidates=candidates,
                               cells=named, store=self.store, history=list(self.history), recalibrate=recal,
                               **self.options).run()
        except BaseException as err:
            self.last_error = err
            raise
        with self._lock:
            self.reports.append(report)
            self.history = report.history
            if report.model is not None:  # refitted: new model, fresh recalibration
                self._model = report.model
                self._recal = Recalibrated(report.model, level=self.level, gamma=self.gamma) \
                    if self.recalibrate else None
        return report

    @property
    def running(self) -> bool:
        """Whether a round is in progress."""
        f = self._future
        return f is not None and not f.done()

    @property
    def latest(self):
        """The report of the last finished round (``None`` before the first)."""
        return self.reports[-1] if self.reports else None

    @property
    def verdict(self) -> str | None:
        """The last round's verdict (``calibrated``, ``biased``...), ``None`` before the first."""
        latest = self.latest
        return None if latest is None else latest.verdict

    def trusted(self) -> bool:
        """True when the last finished round judged the model calibrated; False before any round
        or when it flagged the model. Never waits."""
        latest = self.latest
        return latest is not None and latest.calibrated

    def wait(self, timeout: float | None = None):
        """Wait for the round in progress (if any); returns the latest report, or raises the round's error."""
        f = self._future
        if f is not None:
            f.result(timeout)
        return self.latest

    def close(self, wait: bool = True) -> None:
        """Stop starting rounds; by default let the one in progress finish."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"CalibrationMonitor({self._model!r}, every={self.every!r}, rounds={len(self.reports)}, "
                f"verdict={self.verdict!r})")
