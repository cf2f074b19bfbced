"""SLURM settings, errors and the command line, without a SLURM (tests/test_slurm.py runs on a real one)."""

import os
import sys

import pytest

from surrogate.cli import main
from surrogate.simulate import cluster as cluster_mod
from surrogate.simulate import slurm_cluster, slurm_options

jq = pytest.importorskip("dask_jobqueue", reason="dask-jobqueue is not installed: pip install 'surrogate[cluster]'")
dask = pytest.importorskip("dask")


def _script(options) -> str:
    with jq.SLURMCluster(**options) as cluster:
        return cluster.job_script()


def test_cpu_jobs_from_the_smoke_profile():
    options = slurm_options("smoke")
    assert options["processes"] == options["cores"] == options["job_cpu"] == 1
    assert options["job_mem"] == "2G" and "walltime" not in options  # dask-jobqueue's default walltime
    script = _script(options)
    for line in ("#SBATCH -J surrogate", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=2G", "#SBATCH -t 00:30:00",
                 "--nthreads 1"):
        assert line in script
    assert "gres" not in script and "--preload" not in script
    # one worker process per booked core, one thread each (a process runs one simulation at a time)
    options = slurm_options("smoke", cores_per_job=4)
    assert (options["processes"], options["cores"], options["job_cpu"], options["job_mem"]) == (4, 4, 4, "8G")
    assert "--nworkers 4" in _script(options)


def test_gpu_jobs_for_cifar10_one_worker_per_gpu():
    options = slurm_options("anb-cifar10", gpus_per_job=2, partition="gpu", account="proj42",
                            job_extra=["--qos=high", "#SBATCH --constraint=a100"])
    script = _script(options)
    for line in ("#SBATCH -p gpu", "#SBATCH -A proj42", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=20G",
                 "#SBATCH -t 24:00:00", "#SBATCH --gres=gpu:2", "#SBATCH --qos=high", "#SBATCH --constraint=a100",
                 "--nworkers 2", "--nthreads 1", "--preload surrogate.simulate.cluster"):
        assert line in script, line
    one = _script(slurm_options("anb-cifar10", gpus_per_job=1))
    assert "#SBATCH --gres=gpu:1" in one and "--preload" not in one and "--nworkers" not in one


def test_arguments_beat_the_site_configuration_which_beats_the_profile():
    site = {"jobqueue.slurm.walltime": "02:00:00", "jobqueue.slurm.job-extra-directives": ["--qos=low"],
            "jobqueue.slurm.cores": 3, "jobqueue.slurm.memory": "12GiB", "jobqueue.slurm.name": "mine"}
    with dask.config.set(site):
        script = _script(slurm_options("anb-cifar10"))
        for line in ("#SBATCH -t 02:00:00", "#SBATCH --qos=low", "#SBATCH --cpus-per-task=3", "#SBATCH -J mine",
                     "#SBATCH --mem=12G"):
            assert line in script, line
        options = slurm_options("anb-cifar10", walltime="3-00:00:00", cores_per_job=2, memory="64G", job_extra=["--x=1"])
        assert (options["walltime"], options["job_cpu"], options["job_mem"]) == ("3-00:00:00", 2, "64G")
        assert options["memory"] == 64 * 2**30 and options["job_extra_directives"] == ["--qos=low", "--x=1"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(gpus_per_job=-1), "gpus_per_job"),
    (dict(cores_per_job=0), "cores_per_job"),
    (dict(gpus_per_job=4, cores_per_job=2), "at least gpus_per_job"),
    (dict(memory="lots"), "SLURM amount"),
    (dict(memory="16 GB"), "SLURM amount"),
    (dict(walltime="soon"), "SLURM time"),
    (dict(job_extra=["qos=high"]), "sbatch option"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        slurm_options("smoke", **kwargs)


def test_bad_job_count():
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        slurm_cluster("smoke", jobs=0)


def test_no_dask_jobqueue(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(ValueError, match=r"pip install 'surrogate\[cluster\]'"):
        slurm_cluster("smoke")


def test_no_sbatch_on_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError, match="'sbatch' on PATH"):
        slurm_cluster("smoke")
    argv = ["simulate", "--profile", "smoke", "--cells", "sample:1", "--store", str(tmp_path / "s.sqlite"),
            "--cluster", "slurm", "--quiet"]
    assert main(argv) == 2
    assert "'sbatch' on PATH" in capsys.readouterr().err
    assert not (tmp_path / "s.sqlite").exists()


def test_a_job_slurm_refuses_is_an_error_now(tmp_path, monkeypatch):
    sbatch = tmp_path / "sbatch"  # answers --test-only the way SLURM does for an unknown partition
    sbatch.write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n")
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ValueError, match=r"(?s)invalid partition specified: nope.*#SBATCH -p nope"):
        slurm_cluster("smoke", partition="nope")


def test_cli_slurm_options_need_the_cluster(tmp_path, capsys):
    store = str(tmp_path / "s.sqlite")
    base = ["simulate", "--profile", "smoke", "--cells", "sample:1", "--store", store, "--quiet"]
    assert main(base + ["--jobs", "2", "--partition", "gpu"]) == 2
    assert "--jobs, --partition apply to --cluster slurm only" in capsys.readouterr().err
    assert main(base + ["--cluster", "slurm", "--gpus-per-job", "1", "--device", "cpu"]) == 2
    assert "--device cpu would leave idle" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one place to run: argparse refuses two
        main(base + ["--cluster", "slurm", "--scheduler", "tcp://127.0.0.1:8786"])
    assert "not allowed with argument" in capsys.readouterr().err
    model = ["validate", "--model", "anb-cifar10", "--sample", "4", "--out", str(tmp_path / "v")]
    assert main(model + ["--cluster", "slurm"]) == 2
    assert "apply to --oracle simulate only" in capsys.readouterr().err


def test_cli_device_follows_the_gpus():
    parser = __import__("surrogate.cli", fromlist=["build_parser"]).build_parser()
    from surrogate.cli import _device

    def device(*extra):
        return _device(parser.parse_args(["simulate", "--profile", "smoke", "--cells", "sample:1", "--store", "x",
                                          *extra]))

    assert device() == "cpu"
    assert device("--cluster", "slurm") == "cpu"
    assert device("--cluster", "slurm", "--gpus-per-job", "1") == "cuda"
    assert device("--cluster", "slurm", "--gpus-per-job", "1", "--device", "auto") == "auto"
    assert device("--device", "cuda") == "cuda"


def test_each_worker_process_of_a_job_takes_its_own_gpu(monkeypatch):
    assert cluster_mod._pin("surrogate-3-1", "4,5") == "5"
    assert cluster_mod._pin("surrogate-3-0", "GPU-aa, GPU-bb") == "GPU-aa"  # UUIDs too
    assert cluster_mod._pin("surrogate-3-2", "0,1") == "0"  # more processes than GPUs: shared round-robin
    assert cluster_mod._pin("surrogate-3-1", None) is None and cluster_mod._pin("surrogate-3-1", "") is None
    assert cluster_mod._pin("worker", "0,1") is None
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    cluster_mod.dask_setup(type("W", (), {"name": "surrogate-7-1"})())
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
