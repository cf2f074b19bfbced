"""Run simulations on a SLURM cluster through dask-jobqueue.

:func:`slurm_cluster` starts a Dask scheduler in the calling process and lets SLURM jobs join it as
workers, adaptively: none while nothing is to be done, up to ``jobs`` while cells wait. Hand the
cluster to :func:`~surrogate.simulate.run` as its ``scheduler``::

    from surrogate.simulate import run, slurm_cluster

    with slurm_cluster("anb-cifar10", jobs=8, gpus_per_job=1, partition="gpu",
                       walltime="24:00:00") as cluster:
        run("anb-cifar10", "sample:200", 0, "gt.sqlite", scheduler=cluster, device="cuda")

The store is written by the calling process only (see :mod:`surrogate.simulate.runner`), one
transaction per cell, so a job that ends (walltime, ``scancel``, pre-emption, a dead node) loses
at most the cells it was computing: Dask runs them again on another worker, and adaptive scaling
asks SLURM for a job in its place. A cell whose workers die three times is reported as failed
(Dask's ``distributed.scheduler.allowed-failures``). If the calling process itself ends, the jobs
stop within ``death-timeout`` (60 s) and the same command run again resumes from the store.

Settings are taken, in order, from the arguments, from the user's dask-jobqueue configuration
(``~/.config/dask/jobqueue.yaml``, ``DASK_JOBQUEUE__SLURM__*``: e.g. ``job-script-prologue`` for
``module load``, ``log-directory``, ``name``, ``interface``), and from the profile (see
:func:`slurm_options`).

When a job books several GPUs, it runs one worker process per GPU, and this module, loaded in each
worker with ``--preload``, gives each process its own GPU (:func:`dask_setup`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache

__all__ = ["slurm_cluster", "slurm_options", "dask_setup"]

_INSTALL = "pip install 'surrogate[cluster]'"
_GIB = 2**30
# rough per-process allowances (Dask restarts a worker that outgrows its share)
_MEM_SMALL_GIB = 2   # in-memory toy and proxy data sets: one process measured at 0.5 GB (smoke)
_MEM_CIFAR_GIB = 8   # CIFAR-10 in memory as float32 (0.7 GB) with augmentation copies
_MEM_CUDA_GIB = 2    # the host side of a CUDA context
_WALLTIME_CIFAR = "24:00:00"  # a full-recipe cell takes hours (cost on a GPU not measured yet)
_CPUS_PER_GPU = 2
_SLURM_MEM = re.compile(r"^[1-9][0-9]*[KMGT]?$")
_SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")


def _jobqueue():
    try:
        import dask_jobqueue
    except ImportError:
        raise ValueError(f"--cluster slurm needs the 'dask-jobqueue' package: {_INSTALL}") from None
    return dask_jobqueue


@lru_cache(maxsize=1)
def _shipped_defaults() -> dict:
    import yaml

    path = os.path.join(os.path.dirname(_jobqueue().__file__), "jobqueue.yaml")
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["jobqueue"]["slurm"]


def _site(key: str):
    """The user's dask-jobqueue setting ``jobqueue.slurm.<key>``; None where it is the shipped default."""
    import dask

    value = dask.config.get(f"jobqueue.slurm.{key}", None)
    return None if value == _shipped_defaults().get(key) else value


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _slurm_bytes(text: str) -> int:
    number, unit = (text[:-1], text[-1]) if text[-1].isalpha() else (text, "M")
    return int(number) * 1024 ** "KMGT".index(unit) * 1024


def _dataset(profile) -> str | None:
    """The profile's data set name; None without a profile, or for one that is not a recipe."""
    if profile is None:
        return None
    from ..core.profiles import get_profile

    try:
        return get_profile(profile)["dataset"]["name"]
    except (ValueError, KeyError, TypeError):
        return None


def _per_process_gib(profile, gpu: bool) -> int:
    base = _MEM_CIFAR_GIB if _dataset(profile) == "cifar10" else _MEM_SMALL_GIB
    return base + (_MEM_CUDA_GIB if gpu else 0)


def slurm_options(
    profile=None,
    *,
    gpus_per_job: int = 0,
    cores_per_job: int | None = None,
    memory: str | None = None,
    walltime: str | None = None,
    partition: str | None = None,
    account: str | None = None,
    job_extra: Sequence[str] = (),
    interface: str | None = None,
    **kwargs,
) -> dict:
    """The keyword arguments of ``dask_jobqueue.SLURMCluster`` for simulating ``profile``.

    Each worker process runs one cell at a time on one thread (simulations in one process take
    turns), so a job runs ``gpus_per_job`` worker processes, one per GPU, or, without GPUs,
    ``cores_per_job`` of them, one per core.

    Args:
        profile: the profile to be simulated (a name, file, dict or Profile); sizes memory and walltime.
        gpus_per_job: GPUs each job books (``--gres=gpu:G``); the workers then simulate on CUDA.
        cores_per_job: CPUs each job books (``--cpus-per-task``). Default: the site's
            ``jobqueue.slurm.cores``, else 2 per GPU, else 1.
        memory: memory each job books, SLURM style (``16G``, ``4000`` = MB). Default: the site's
            ``jobqueue.slurm.memory``, else per worker process 2 GiB (8 GiB for CIFAR-10 profiles),
            plus 2 GiB with a GPU.
        walltime: each job's time limit (``HH:MM:SS``, ``D-HH:MM:SS``). Default: the site's
            ``jobqueue.slurm.walltime``, else 24:00:00 for CIFAR-10 profiles, else 00:30:00. It has
            to exceed one cell's time, or no cell is ever finished.
        partition, account: ``-p`` and ``-A``. Default: the site's ``queue`` and ``account``.
        job_extra: more ``#SBATCH`` options, e.g. ``["--qos=high", "--constraint=a100"]``; added
            to the site's ``job-extra-directives``.
        interface: the network interface that workers and scheduler talk over (e.g. ``ib0``).
        **kwargs: passed on to ``SLURMCluster`` (e.g. ``log_directory``, ``job_script_prologue``).
    """
    gpus = _count("gpus_per_job", gpus_per_job, 0)
    if cores_per_job is None:
        site_cores = _site("cores")
        cores_per_job = int(site_cores) if site_cores is not None else max(1, _CPUS_PER_GPU * gpus)
    cores = _count("cores_per_job", cores_per_job, 1)
    processes = gpus if gpus else cores
    if cores < processes:
        raise ValueError(f"cores_per_job ({cores}) must be at least gpus_per_job ({gpus}): "
                         "one worker process per GPU needs a core")
    options: dict = {"cores": processes, "processes": processes, "job_cpu": cores}

    if memory is None and _site("memory") is not None:
        memory = str(_site("memory"))
        options["memory"] = memory  # the site's, in Dask's units; SLURM gets it rounded up
    elif memory is None:
        gib = _per_process_gib(profile, gpus > 0) * processes
        options.update(memory=gib * _GIB, job_mem=f"{gib}G")
    else:
        memory = str(memory).strip()
        if not _SLURM_MEM.match(memory):
            raise ValueError(f"memory {memory!r} is not a SLURM amount; use e.g. '16G', '512M' or '4000' (MB)")
        options.update(memory=_slurm_bytes(memory), job_mem=memory)

    if walltime is None:
        walltime = _site("walltime")
    if walltime is None and _dataset(profile) == "cifar10":
        walltime = _WALLTIME_CIFAR
    if walltime is not None:
        walltime = str(walltime).strip()
        if not _SLURM_TIME.match(walltime):
            raise ValueError(f"walltime {walltime!r} is not a SLURM time; use e.g. '04:00:00' or '1-12:00:00'")
        options["walltime"] = walltime
    if partition is not None:
        options["queue"] = partition
    if account is not None:
        options["account"] = account
    if interface is not None:
        options["interface"] = interface

    if isinstance(job_extra, str):
        job_extra = [job_extra]
    directives = list(_site("job-extra-directives") or [])
    if gpus:
        directives.append(f"--gres=gpu:{gpus}")
    for extra in job_extra:
        extra = str(extra).strip()
        extra = extra[len("#SBATCH"):].strip() if extra.startswith("#SBATCH") else extra
        if not extra.startswith("-"):
            raise ValueError(f"job_extra {extra!r} is not an sbatch option; use e.g. '--qos=high'")
        directives.append(extra)
    options["job_extra_directives"] = directives

    worker_args = list(_site("worker-extra-args") or [])
    if gpus > 1:  # each worker process of the job takes its own GPU (dask_setup below)
        worker_args += ["--preload", __name__]
    options["worker_extra_args"] = worker_args
    if _site("name") is None:
        options["job_name"] = "surrogate"
    options.update(kwargs)
    return options


def slurm_cluster(
    profile=None,
    *,
    jobs: int = 4,
    gpus_per_job: int = 0,
    cores_per_job: int | None = None,
    memory: str | None = None,
    walltime: str | None = None,
    partition: str | None = None,
    account: str | None = None,
    job_extra: Sequence[str] = (),
    interface: str | None = None,
    check: bool = True,
    **kwargs,
):
    """Start a Dask scheduler here whose workers are SLURM jobs: between 0 and ``jobs`` of them.

    The arguments are those of :func:`slurm_options`, plus:

    Args:
        jobs: the most SLURM jobs at a time (adaptive: fewer while fewer cells wait, none when idle).
        check: first ask ``sbatch --test-only`` whether SLURM accepts the worker job (partition,
            account, walltime, GPUs), so that a refusal is an error now, not a run that waits forever.

    Returns:
        a started ``dask_jobqueue.SLURMCluster``; pass it as ``run(..., scheduler=cluster)`` (or a
        ``distributed.Client`` on it), and close it (``with``, or ``.close()``) to cancel its jobs.

    Raises:
        ValueError: dask-jobqueue is not installed, ``sbatch`` is not on PATH, a setting is invalid,
            or SLURM refuses the worker job.
    """
    jq = _jobqueue()
    jobs = _count("jobs", jobs, 1)
    options = slurm_options(profile, gpus_per_job=gpus_per_job, cores_per_job=cores_per_job, memory=memory,
                            walltime=walltime, partition=partition, account=account, job_extra=job_extra,
                            interface=interface, **kwargs)
    if shutil.which("sbatch") is None:
        raise ValueError("--cluster slurm needs SLURM's 'sbatch' on PATH, and it is not there: run on a "
                         "SLURM login node (or load its module), or use --workers / --scheduler")
    import dask

    # one task per free worker thread: waiting cells stay with the scheduler for the next job to arrive
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = jq.SLURMCluster(**options)
    try:
        if check:
            _test_submit(cluster.job_script())
        # one worker per waiting cell, up to `jobs` (the default target of 5 s of work per worker would
        # start one job for the first ten cells of unknown duration)
        cluster.adapt(minimum_jobs=0, maximum_jobs=jobs, target_duration="1ms")
    except BaseException:
        cluster.close()
        raise
    return cluster


def _test_submit(script: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="surrogate-slurm-") as fh:
        fh.write(script)
        fh.flush()
        try:
            done = subprocess.run(["sbatch", "--test-only", fh.name], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise ValueError("sbatch --test-only did not answer in 60 s: is slurmctld up ('sinfo')?") from None
    if done.returncode != 0:
        header = "\n".join("  " + line for line in script.splitlines() if line.startswith("#SBATCH"))
        raise ValueError(f"SLURM refuses the worker job: {(done.stderr or done.stdout).strip()}\n"
                         f"the job asked for:\n{header}")


def dask_setup(worker) -> None:
    """Worker preload: the ``i``-th worker process of a job keeps only the job's ``i``-th GPU.

    A job that books G GPUs runs G worker processes named ``<job>-0`` .. ``<job>-<G-1>``; each sees
    all of the job's GPUs in ``CUDA_VISIBLE_DEVICES``, and torch would put them all on the first.
    This runs in each process before any task, hence before CUDA starts.
    """
    pinned = _pin(str(getattr(worker, "name", "")), os.environ.get("CUDA_VISIBLE_DEVICES"))
    if pinned is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = pinned


def _pin(name: str, visible: str | None) -> str | None:
    index = name.rsplit("-", 1)[-1]
    if not visible or not index.isdigit():
        return None
    devices = [d.strip() for d in visible.split(",") if d.strip()]
    return devices[int(index) % len(devices)] if devices else None
