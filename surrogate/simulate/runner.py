"""Run many cells: pick them, skip those already stored, farm them out, store results as they come.

Workers (local processes or an existing Dask cluster) only compute; every result comes back to
the one process that owns the store and writes it, one transaction per cell. A run killed at any
point loses at most the cells in flight; started again, it resumes where it stopped.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..cells import DAG_PREFIX, Arch, Cell, as_cell
from ..core import Profile, get_profile

__all__ = ["resolve_cells", "run", "RunSummary"]


@dataclass
class RunSummary:
    """What a run did: cells written, skipped as already stored, and failed (with the error)."""

    profile: str
    seed: int
    requested: int = 0
    skipped: int = 0
    written: int = 0
    failed: dict = field(default_factory=dict)  # NB-201 string -> error text


def resolve_cells(spec: str | Arch | Iterable[Arch], seed: int = 0) -> list[Cell]:
    """Turn a ``--cells`` value into cells.

    Accepted: ``"all"`` (the 15,625 NB-201 cells), ``"sample:N"`` (the first ``N`` of a
    ``seed``-seeded permutation of them, so ``sample:3`` is a prefix of ``sample:4``), an NB-201
    string (strictly) or a ``"dag:"`` string, the path of a text file with one cell string per line
    as :meth:`~surrogate.cells.Cell.to_str` writes them (any DAG, ``"dag:"`` optional; ``#`` starts
    a comment), a ``Cell``, or an iterable of cells. Duplicates are dropped, order kept.
    """
    from .. import nb201

    if isinstance(spec, Cell):
        cells = [spec]
    elif isinstance(spec, str):
        text = spec.strip()
        if text == "all":
            cells = nb201.all_cells()
        elif text.startswith("sample:"):
            n = text[len("sample:"):]
            if not n.isdigit() or int(n) < 1:
                raise ValueError(f"--cells {spec!r}: sample:N needs a positive integer N, e.g. sample:100")
            pool = nb201.all_cells()
            order = np.random.default_rng(seed).permutation(len(pool))
            cells = [pool[i] for i in order[: int(n)]]
        elif text.startswith(("|", DAG_PREFIX)):
            cells = [Cell.from_str(text)]  # an NB-201 string, strictly, or a "dag:" string
        elif Path(text).is_file():
            lines = Path(text).read_text(encoding="utf-8").splitlines()
            cells = []
            for number, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].strip()
                if line:
                    try:
                        cells.append(Cell.from_dag_str(line))  # as Cell.to_str writes them
                    except ValueError as err:
                        raise ValueError(f"{text}, line {number}: {err}") from None
        else:
            raise ValueError(
                f"--cells {spec!r} is not understood; accepted: 'all', 'sample:N', an NB-201 cell string "
                "('|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'), a 'dag:' cell string ('dag:|op~0|+|op~0|op~1|', any DAG) "
                "or the path of a file with one cell string per line"
            )
    else:
        try:
            cells = [as_cell(spec)]  # an AnalogNAS-Bench tuple
        except (TypeError, ValueError):
            cells = [as_cell(c) for c in spec]
    return list(dict.fromkeys(cells))


def _work(profile_dict: dict, cell_str: str, seed: int, data_root: str | None, chips: list | None = None,
          device: str = "cpu"):
    """Worker entry point: module-level, cheap arguments (``cell_str`` is ``str(cell)``: an NB-201 string or
    a ``"dag:"`` string), so processes and Dask can pickle it.
    ``device="auto"`` is resolved here, on the worker, so each worker uses its own GPU if it has one."""
    from .engine import simulate_cell

    return simulate_cell(profile_dict, cell_str, seed, data_root=data_root, chips=chips, device=device)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run(
    profile: str | os.PathLike | dict | Profile,
    cells: str | Sequence[Arch],
    seed: int,
    store,
    *,
    workers: int = 1,
    scheduler=None,
    data_root: str | os.PathLike | None = None,
    chips: Sequence[str] | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> RunSummary:
    """Simulate every cell not yet in ``store`` for ``(profile, seed)`` and write the results.

    Args:
        profile: a built-in name, JSON path, dict or :class:`Profile`.
        cells: anything :func:`resolve_cells` accepts.
        seed: training seed (also seeds ``sample:N``).
        store: a :class:`surrogate.data.Store`, or a path to open one at.
        workers: local processes (1 = in this process). Ignored with ``scheduler``.
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), a ``distributed.Client``, or a
            Dask cluster object, e.g. :func:`~surrogate.simulate.slurm_cluster`'s (SLURM jobs as workers).
        data_root: CIFAR-10 folder for profiles that need it.
        chips: names of the profile's chips to measure (default all; the default chip always).
            A cell already stored is skipped whichever chips it was measured on.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (each worker's GPU when it has one); see
            :func:`~surrogate.simulate.simulate_cell`.
        progress: show a tqdm bar (cells done, rate, time left) on stderr.

    A cell that raises is reported and skipped; the run goes on. Returns a :class:`RunSummary`.
    """
    from ..data import Store

    prof = get_profile(profile)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if chips is not None:
        chips = prof.select_chips(chips)  # refuse unknown names before any work
    todo_all = resolve_cells(cells, seed)
    own_store = not isinstance(store, Store)
    db = Store(store) if own_store else store
    try:
        pdict = prof.to_dict()
        done = db.done(pdict, seed)
        todo = [c for c in todo_all if c not in done]
        summary = RunSummary(prof.name, seed, requested=len(todo_all), skipped=len(todo_all) - len(todo))
        if not todo:
            return summary
        root = None if data_root is None else os.fspath(data_root)
        bar = _bar(len(todo), f"{prof.name} seed {seed}", progress)
        try:
            for cell, result, error in _results(pdict, todo, seed, root, workers, scheduler, chips, device):
                if error is None:
                    if db.write_cell(pdict, cell, seed, result.rows, result.extras):
                        summary.written += 1
                    else:
                        summary.skipped += 1
                else:
                    summary.failed[cell.to_str()] = error
                    bar.write(f"surrogate: cell {cell.to_str()} failed and is skipped: {error.splitlines()[-1]}")
                bar.update(1)
        finally:
            bar.close()
        return summary
    finally:
        if own_store:
            db.close()


def _bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="cell", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _error_text(err: BaseException) -> str:
    return "".join(traceback.format_exception(type(err), err, err.__traceback__)).strip()


def _results(pdict, todo, seed, root, workers, scheduler, chips, device):
    """Yield ``(cell, CellResult | None, error text | None)`` in completion order."""
    if scheduler is not None:
        yield from _dask_results(pdict, todo, seed, root, scheduler, chips, device)
        return
    if workers == 1:
        for cell in todo:
            try:
                yield cell, _work(pdict, str(cell), seed, root, chips, device), None
            except Exception as err:  # noqa: BLE001 - a failing cell is reported, not fatal
                yield cell, None, _error_text(err)
        return
    # spawn: a forked child of a process that already ran torch can deadlock in OpenMP
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures: dict[Future, Cell] = {
            pool.submit(_work, pdict, str(cell), seed, root, chips, device): cell for cell in todo
        }
        try:
            for fut in as_completed(futures):
                err = fut.exception()
                yield futures[fut], fut.result() if err is None else None, None if err is None else _error_text(err)
        finally:
            for fut in futures:
                fut.cancel()


def _dask_results(pdict, todo, seed, root, scheduler, chips=None, device="cpu"):
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:  # pragma: no cover
        raise ValueError("--scheduler needs the 'distributed' package: pip install 'surrogate[cluster]'") from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {
            client.submit(_work, pdict, str(cell), seed, root, chips, device, pure=False, key=f"simulate-{i}-{cell.to_str()}"): cell
            for i, cell in enumerate(todo)
        }
        try:
            for fut in dask_completed(futures):
                if fut.status == "finished":
                    yield futures[fut], fut.result(), None
                else:
                    err = fut.exception()
                    yield futures[fut], None, _error_text(err) if err is not None else f"task {fut.status}"
        finally:
            client.cancel(list(futures))
    finally:
        if client is not scheduler:
            client.close()
