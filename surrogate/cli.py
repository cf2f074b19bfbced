"""The ``surrogate`` command. Each subcommand is thin: parse, call the public API, print."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__


def _space(args) -> int:
    import numpy as np

    from . import nb201

    cells = nb201.all_cells()
    params, flops = nb201.macro_cost(cells)
    print(f"NAS-Bench-201 space: {len(cells):,} cells over {nb201.OPS}")
    print(f"  unique up to isomorphism (NB-201 rule): {len({c.canonical() for c in cells}):,}")
    print(f"  unique dropping zero terms:             {len({c.canonical(drop_zero=True) for c in cells}):,}")
    print(f"  distinct networks (normal form; `rank` lists each once): {len({c.simplified() for c in cells}):,}")
    print(f"  degenerate (no input-output path):      {sum(c.is_degenerate for c in cells):,}")
    print(f"  parameters (C=16, N=5, CIFAR-10): {params.min() / 1e6:.3f} M to {params.max() / 1e6:.3f} M, "
          f"median {np.median(params) / 1e6:.3f} M")
    print(f"  multiply-adds at 32x32:           {flops.min() / 1e6:.2f} M to {flops.max() / 1e6:.2f} M")
    return 0


def _data(args) -> int:
    from . import data

    gt = data.load(args.source)
    print(gt)
    frame = gt.to_frame()
    for chip in gt.chips:  # never pooled across chips
        for training in gt.trainings:
            part = frame.loc[(frame["chip"] == chip) & (frame["training"] == training)]
            acc = part.groupby("t_inference")["accuracy"]
            print(f"  {chip} {training:8s} ({part['cell'].nunique():,} cells) mean accuracy by t_inference: "
                  + ", ".join(f"{t:.0f} s {m:.2f} %" for t, m in acc.mean().items()))
    if args.export:
        out = gt.export(args.export)
        print(f"wrote {len(gt):,} rows to {out}")
    return 0


def _simulate(args) -> int:
    from .simulate import run

    device = _device(args)
    with _dask_where(args, args.profile) as scheduler:
        summary = run(
            args.profile, args.cells, args.seed, args.store,
            workers=args.workers, scheduler=scheduler, data_root=args.data_root,
            chips=None if args.chips is None else args.chips.split(","), device=device,
            progress=not args.quiet,
        )
    print(
        f"profile {summary.profile}, seed {summary.seed}: {summary.requested} cells requested, "
        f"{summary.skipped} already stored, {summary.written} written, {len(summary.failed)} failed"
    )
    for cell, error in summary.failed.items():
        print(f"  failed: {cell}: {error.splitlines()[-1]}", file=sys.stderr)
    return 1 if summary.failed else 0


_SLURM_OPTIONS = ("jobs", "gpus_per_job", "partition", "walltime", "cores_per_job", "memory", "account",
                  "job_extra", "interface")


def _dask_where(args, profile):
    """A context giving ``run``'s scheduler: --scheduler's address, a SLURM cluster, or None."""
    import contextlib

    given = [f"--{name.replace('_', '-')}" for name in _SLURM_OPTIONS if getattr(args, name) is not None]
    if args.cluster is None:
        if given:
            raise ValueError(f"{', '.join(given)} apply to --cluster slurm only")
        return contextlib.nullcontext(args.scheduler)
    from .simulate import slurm_cluster

    options = {name: getattr(args, name) for name in _SLURM_OPTIONS if getattr(args, name) is not None}
    options["job_extra"] = options.get("job_extra") or ()
    cluster = slurm_cluster(profile, **options)
    if not args.quiet:
        request = " ".join(line.removeprefix("#SBATCH ") for line in cluster.job_header.splitlines())
        print(f"surrogate: SLURM: up to {options.get('jobs', 4)} jobs of [{request}]; scheduler "
              f"{cluster.scheduler_address}, dashboard {cluster.dashboard_link}", file=sys.stderr)
    return cluster


def _device(args) -> str:
    """--device, else cuda when the SLURM jobs book GPUs, else cpu."""
    gpus = getattr(args, "gpus_per_job", None) or 0
    device = getattr(args, "device", None)
    if device == "cpu" and gpus and args.cluster is not None:
        raise ValueError(f"--gpus-per-job {gpus} books GPUs that --device cpu would leave idle; "
                         "drop --device (cuda is then used) or pass --device cuda or auto")
    return device or ("cuda" if gpus and args.cluster is not None else "cpu")


def _slurm_options(p, where) -> None:
    where.add_argument("--cluster", choices=["slurm"],
                       help="start the workers as SLURM jobs (dask-jobqueue), adaptively: 0 to --jobs of them")
    g = p.add_argument_group("SLURM (with --cluster slurm; unset: the site's dask-jobqueue configuration, "
                             "then the profile's needs)")
    g.add_argument("--jobs", type=int, metavar="N", help="the most jobs at a time (default 4)")
    g.add_argument("--gpus-per-job", type=int, metavar="G",
                   help="GPUs per job (--gres=gpu:G), one worker per GPU; simulates on cuda (default 0)")
    g.add_argument("--partition", metavar="P", help="partition (-p)")
    g.add_argument("--walltime", metavar="HH:MM:SS", help="each job's time limit; must exceed one cell's time "
                   "(default 24:00:00 for CIFAR-10 profiles, else 00:30:00)")
    g.add_argument("--cores-per-job", type=int, metavar="C",
                   help="CPUs per job; without GPUs one worker per CPU (default 2 per GPU, else 1)")
    g.add_argument("--memory", metavar="M", help="memory per job, SLURM style: 16G, 4000 (MB) "
                   "(default 2G per worker, 8G for CIFAR-10, +2G with a GPU)")
    g.add_argument("--account", metavar="A", help="account to charge (-A)")
    g.add_argument("--job-extra", action="append", metavar="OPT",
                   help="another sbatch option, repeatable; write it with '=': --job-extra=--qos=high")
    g.add_argument("--interface", metavar="IF", help="network interface between workers and scheduler (e.g. ib0)")


def _interval_table(cells, pred, order=None, start=1) -> None:
    import numpy as np

    acc = np.atleast_1d(pred.accuracy)
    order = range(len(acc)) if order is None else order
    pct = f"{round(pred.level * 100)}% interval"
    print(f"{'#':>4}  {'accuracy':>8}  {pct:>17}  {'std':>5}  {'degr.':>6}  cell")
    for i, idx in enumerate(order, start):
        lo, hi = np.atleast_1d(pred.lower)[idx], np.atleast_1d(pred.upper)[idx]
        print(f"{i:>4}  {acc[idx]:>8.2f}  [{lo:6.2f}, {hi:6.2f}]  {np.atleast_1d(pred.std)[idx]:>5.2f}  "
              f"{np.atleast_1d(pred.degradation)[idx]:>6.2f}  {cells[idx]}")


def _predicted(model, cells, args):
    """``model.predict`` of ``cells`` at ``args``; the model's out-of-domain warning is said by
    :func:`_outside_note`, for the cells shown only."""
    import warnings

    from .models import OutOfDomainWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        return model.predict(cells, args.t, training=args.training, level=args.level, chip=args.chip)


def _outside_note(model, cells, pred, order, args) -> None:
    """One line on stderr when cells shown lie outside the model's fitted domain (a whole-space ranking
    that lists none of them says nothing)."""
    import numpy as np

    order = list(order)
    outside = [i for i in order if not np.atleast_1d(pred.in_domain)[i]]
    if outside:
        first, domain = cells[outside[0]], model.domain_
        print(f"surrogate: warning: {len(outside)} of the {len(order)} cells shown lie outside the fitted domain of "
              f"model {args.model} ({domain.describe()}); {first}: {domain.reason(first.simplified())}",
              file=sys.stderr)


def _print_json(cells, pred, order, args) -> None:
    """One JSON object per line is awkward to diff; one array of records is what scripts ``json.load``."""
    import json

    import numpy as np

    def col(name, idx):
        return float(np.atleast_1d(getattr(pred, name))[idx])

    records = [{"rank" if args.func is _rank else "index": i, "cell": str(cells[idx]),
                "t_inference": args.t, "training": args.training, "level": pred.level, "model": args.model,
                **{k: col(k, idx) for k in ("accuracy", "std", "lower", "upper", "degradation")},
                "in_domain": bool(np.atleast_1d(pred.in_domain)[idx])}
               for i, idx in enumerate(order, 1 if args.func is _rank else 0)]
    print(json.dumps(records, indent=1))


def _arch(text: str):
    """A cell string (NB-201 or ``dag:``) as it is, or ``2,2,0,4,2,1`` as the AnalogNAS-Bench tuple it spells."""
    parts = text.replace(" ", "").strip("()").split(",")
    if len(parts) > 1 and all(p.isdigit() for p in parts):
        return tuple(int(p) for p in parts)
    return text


def _predict(args) -> int:
    from . import api
    from .cells import as_cell

    model = api.load(args.model)
    cells = [as_cell(_arch(a)) for a in args.arch]
    pred = _predicted(model, cells, args)
    _outside_note(model, cells, pred, range(len(cells)), args)
    if args.json:
        _print_json(cells, pred, range(len(cells)), args)
        return 0
    print(f"{args.training} accuracy (%) at t = {args.t:g} s; degradation since {pred.t_ref:g} s; "
          f"model {args.model}")
    _interval_table(cells, pred)
    return 0


def _rank(args) -> int:
    import numpy as np

    from . import api, nb201

    model = api.load(args.model)
    cells = nb201.all_cells()
    pred = _predicted(model, cells, args)
    order, seen = [], set()
    for i in np.argsort(-pred.accuracy, kind="stable"):  # one line per network, however often it is drawn
        key = cells[i].simplified()
        if key not in seen:
            seen.add(key)
            order.append(i)
            if len(order) == args.top:
                break
    _outside_note(model, cells, pred, order, args)
    if args.json:
        _print_json(cells, pred, order, args)
        return 0
    distinct = len({c.simplified() for c in cells})
    print(f"top {len(order)} of {distinct:,} distinct networks among {len(cells):,} NB-201 cells by predicted {args.training} accuracy (%) at "
          f"t = {args.t:g} s (model {args.model}); each is listed once, in its first NB-201 drawing")
    _interval_table(cells, pred, order)
    return 0


def _fit(args) -> int:
    from pathlib import Path

    from . import data
    from .models import Surrogate
    from .simulate.runner import resolve_cells

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise ValueError(f"--out {out} exists and is not an empty directory; choose another or add --force "
                         "to replace the model there")
    gt = data.load(args.data)
    if args.chips is not None:
        gt = gt.for_chip(*args.chips.split(","))
    have = set(gt.cells)
    train = [c for c in resolve_cells(args.cells, args.seed) if c in have] if args.cells != "all" else gt.cells
    chosen = set(train)
    held = [c for c in gt.cells if c not in chosen] if args.evaluate else []
    model = Surrogate(n_folds=args.folds, random_state=args.seed).fit(gt.subset(train))
    for chip in gt.chips if held else ():
        part = gt.subset(held).for_chip(chip)
        if part.cells:
            model.metrics_["held_out" if len(gt.chips) == 1 else f"held_out@{chip}"] = model.score(part)
    model.metrics_["train_cells"] = f"{args.cells} (seed {args.seed}) of {args.data}"
    precompute = None
    if args.precompute == "nb201":
        from . import nb201

        precompute = nb201.all_cells()
    out = model.save(args.out, precompute=precompute)
    for name, block in model.metrics_.items():
        if isinstance(block, dict):
            for training, m in block.items():
                print(f"{name:>9} {training:>8}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()
                                                             if isinstance(v, float)))
    print(f"saved {model!r} to {out}")
    return 0


def _overrides(args) -> dict | None:
    """``--smoke`` and ``--override KEY=VALUE`` (JSON values) as one dict of recipe changes."""
    import json

    from .validate.oracles import SMOKE

    out = dict(SMOKE) if args.smoke else {}
    for item in args.override or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--override {item!r}: give KEY=VALUE, e.g. train.epochs=1")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out or None


def _validate(args) -> int:
    from . import api
    from .simulate.runner import resolve_cells
    from .validate import SimulateOracle, TableOracle, Validator

    model = api.load(args.model)
    overrides = _overrides(args)
    if args.oracle == "table":
        if args.workers is not None or args.scheduler is not None or args.cluster is not None:
            raise ValueError("--workers, --scheduler and --cluster apply to --oracle simulate only")
        if args.device is not None or overrides or args.data_root is not None:
            raise ValueError("--device, --data-dir, --smoke and --override apply to --oracle simulate only")
        oracle = TableOracle.for_model(model, args.table)
        where = _dask_where(args, None)
    else:
        if args.table is not None:
            raise ValueError("--table applies to --oracle table only")
        device = _device(args)
        where = _dask_where(args, getattr(model, "profile_", None))
    with where as scheduler:
        if args.oracle == "simulate":
            oracle = SimulateOracle(workers=args.workers or 1, scheduler=scheduler, data_root=args.data_root,
                                    device=device, overrides=overrides, progress=not args.quiet)
        candidates = None if args.cells is None else resolve_cells(args.cells, args.seed)
        report = Validator(model, oracle=oracle, sample=args.sample, seed=args.seed, series=args.series,
                           candidates=candidates, cells=args.include, level=args.level, alpha=args.alpha,
                           clip=None if args.plain_tests else args.clip, store=args.store).run()
    json_path, png_path = report.save(args.out)
    print(f"model {args.model} [{report.record['model']['profile_hash']}], oracle {args.oracle}")
    print(report.summary())
    print(f"wrote {json_path} and {png_path}")
    if args.feedback_out is not None:
        out = _feedback(model, args.store, args.feedback_out)
        print(f"wrote the recalibrated model to {out}")
    if report.smoke:
        ok = not report.record["failed"] and report.verdict != "too few cells"
        print("smoke check: " + ("the path ran end to end; the verdict above is not a calibration verdict"
                                 if ok else "cells failed or too few were measured"))
        return 0 if ok else EXIT_INCONCLUSIVE
    if report.verdict == "too few cells":
        return EXIT_INCONCLUSIVE
    return 0 if report.calibrated else 1


def _feedback(model, store_path, out):
    """Recalibrate ``model`` on every validation measurement the store holds of its profile and chip, and
    write it as a new model directory (:mod:`surrogate.validate.feedback`)."""
    from .data import GroundTruth, Store
    from .validate import chip_name
    from .validate.feedback import recalibrate_on, save_new

    if store_path is None:
        raise ValueError("--feedback-out needs --store: the validation measurements to recalibrate on")
    with Store(store_path) as store:
        gt = store.load(model.profile_hash_)
    frame = gt.to_frame()
    frame = frame.loc[frame["source"] == "validation"]
    chip = chip_name(model)
    if chip is not None:
        frame = frame.loc[frame["chip"] == chip]
    if frame.empty:
        raise ValueError(f"the store {store_path} holds no validation measurement of the model's profile "
                         f"[{model.profile_hash_}] to recalibrate on")
    measured = GroundTruth(frame, gt.profile, gt.extras_frame())
    fixed = recalibrate_on(model, measured,
                           how=f"the cells measured by the validation rounds in {store_path}")
    return save_new(fixed, out)


#: ``surrogate validate`` exit codes: calibrated, not calibrated, usage error, inconclusive.
EXIT_CALIBRATED, EXIT_NOT_CALIBRATED, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surrogate",
        description="Predict analog (AIMC) accuracy and drift degradation of NAS cells.",
    )
    parser.add_argument("--version", action="version", version=f"surrogate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("space", help="summarise a search space")
    p.add_argument("name", nargs="?", default="nb201", choices=["nb201"])
    p.set_defaults(func=_space)
    p = sub.add_parser("data", help="summarise (and export) a ground-truth data set or store")
    p.add_argument("source", help="a shipped data set (anb-cifar10) or a store file")
    p.add_argument("--export", metavar="PATH", help="write the rows to a .csv or .parquet file")
    p.set_defaults(func=_data)


    p = sub.add_parser(
        "simulate",
        help="simulate cells with aihwkit into a ground-truth store (resumable)",
        description="Train, convert, drift and HWA-fine-tune cells; write one row set per cell into "
        "the store. Cells already stored for the profile and seed are skipped, so rerunning resumes.",
    )
    p.add_argument("--profile", required=True, metavar="NAME|FILE",
                   help="built-in profile (anb-cifar10, proxy-digits, proxy-mnist, smoke) or a JSON profile file")
    p.add_argument("--cells", required=True, metavar="sample:N|all|CELL|FILE",
                   help="'sample:N' (seeded, prefix-stable), 'all', one NB-201 string, or a file of them")
    p.add_argument("--seed", type=int, default=0, help="training seed; also seeds sample:N (default 0)")
    p.add_argument("--store", required=True, metavar="PATH", help="SQLite store file (created if absent)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="address of an existing Dask scheduler")
    _slurm_options(p, where)
    p.add_argument("--data-root", metavar="DIR", help="CIFAR-10 'cifar-10-batches-py' folder (cifar10 profiles)")
    p.add_argument("--chips", metavar="A,B", help="measure only these of the profile's chips (default all; "
                   "the default chip always)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"],
                   help="where each cell trains: cpu (deterministic; the default), cuda (the default with "
                   "--gpus-per-job), or auto (the worker's GPU if any)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("predict", help="predict the analog accuracy of cells at a drift time")
    p.add_argument("arch", nargs="+", help="NB-201 cell string(s), e.g. '|nor_conv_3x3~0|+|...|+|...|', "
                   "'dag:' strings of any other DAG, e.g. 'dag:|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|', "
                   "or AnalogNAS-Bench tuples, e.g. 2,2,0,4,2,1")
    p.add_argument("--t", type=float, required=True, metavar="SECONDS", help="time since programming")
    p.add_argument("--json", action="store_true", help="print a JSON array of records instead of a table")
    _model_options(p)
    p.set_defaults(func=_predict)

    p = sub.add_parser("rank", help="rank a search space by predicted analog accuracy")
    p.add_argument("--space", default="nb201", choices=["nb201"])
    p.add_argument("--t", type=float, required=True, metavar="SECONDS", help="time since programming")
    p.add_argument("--top", type=_positive, default=10, help="how many to show (default 10)")
    p.add_argument("--json", action="store_true", help="print a JSON array of records instead of a table")
    _model_options(p)
    p.set_defaults(func=_rank)

    p = sub.add_parser(
        "validate",
        help="check a model's calibration on re-measured cells (exit 0: calibrated, 1: not, 2: usage error, "
             "3: inconclusive)",
        description="Sample cells (stratified over predicted accuracy, the predicted top over-sampled; "
                    "rounds "
        "0, 1, 2... of a --series take disjoint cells), measure them through an oracle that reproduces the "
        "model's profile, and judge coverage, bias and z-scores per training and time (tests robust to rare "
        "gross errors such as failed training runs). Writes report.json and report.png into --out. Exit code "
        "0: calibrated; 1: not calibrated (biased, over- or under-confident); 2: usage error (including "
        "fewer "
        "than 3 cells, and an oracle that cannot reproduce the model's profile); 3: inconclusive (too few "
        "cells "
        "could be measured to run a test; or, with --smoke, cells failed).",
    )
    p.add_argument("--model", required=True, metavar="NAME|PATH",
                   help="a shipped model name or a saved model directory")
    p.add_argument("--oracle", default="table", choices=["table", "simulate"],
                   help="table: a ground-truth table that holds the profile (default); simulate: re-train "
                        "and "
                   "re-measure with the model's recipe")
    p.add_argument("--sample", type=int, required=True, metavar="K",
                   help="cells to sample and measure (at least 3; 8 or more for useful power)")
    p.add_argument("--seed", type=int, default=0,
                   help="the round's number in its series: seeds the re-simulation (offset by 10000) and "
                        "picks "
                   "which block of cells the round takes (default 0)")
    p.add_argument("--series", type=int, default=0,
                   help="seeds the order in which the rounds of a series take cells (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for report.json and report.png")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local simulation processes (--oracle simulate)")
    where.add_argument("--scheduler", metavar="ADDR", help="a Dask scheduler address (--oracle simulate)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"],
                   help="where each cell trains (--oracle simulate; default cpu)")
    p.add_argument("--data-dir", "--data-root", dest="data_root", metavar="DIR",
                   help="CIFAR-10 folder (--oracle simulate, cifar10 profiles): cifar-10-batches-py, "
                   "cifar-10-batches-bin, or the folder they were extracted into")
    p.add_argument("--smoke", action="store_true",
                   help="--oracle simulate: a smoke check of the whole path with a tiny recipe derived from "
                        "the "
                   "model's (1 epoch each, width 4, one cell per stage, 16x16 images, 2 repetitions); the "
                   "report "
                   "is marked as such and the exit code says whether the path ran")
    p.add_argument("--override", action="append", metavar="KEY=VALUE",
                   help="--oracle simulate: change one setting of the recipe (train.epochs=2, "
                        "network.width=8, "
                   "repetitions=5, dataset.input_size=16...; repeatable; on top of --smoke); marks the "
                   "report "
                   "as a smoke check")
    _slurm_options(p, where)
    p.add_argument("--table", metavar="STORE",
                   help="--oracle table: a store file holding the model's profile "
                   "(default: the shipped data set of its profile, e.g. AnalogNAS-Bench for anb-cifar10)")
    p.add_argument("--cells", metavar="sample:N|all|FILE", help="candidates to sample from (default: NB-201)")
    p.add_argument("--include", nargs="+", metavar="CELL", help="cells to measure whatever the sample")
    p.add_argument("--store", metavar="PATH", help="keep the re-measured rows and the round in this store; "
                   "later rounds measure the cells it holds last")
    p.add_argument("--level", type=float, default=0.9, help="interval coverage judged (default 0.9)")
    p.add_argument("--alpha", type=float, default=0.05, help="false-alarm rate per round (default 0.05)")
    p.add_argument("--clip", type=float, default=3.0, metavar="SD",
                   help="the robust tests count a cell at most SD standard deviations off (default 3)")
    p.add_argument("--plain-tests", action="store_true",
                   help="plain Gaussian tests (no clip), as before verdict version 2")
    p.add_argument("--feedback-out", metavar="DIR",
                   help="after the round, recalibrate the model on every validation measurement in --store "
                        "and "
                   "write it to DIR, a new model directory (never over an existing one)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_validate)

    p = sub.add_parser("fit", help="fit a Surrogate on ground truth and save it")
    p.add_argument("--data", default="anb-cifar10", help="a shipped data set or a store file")
    p.add_argument("--cells", default="all", metavar="sample:N|all|FILE", help="training cells (default all)")
    p.add_argument("--seed", type=int, default=0, help="seeds the sample and the model")
    p.add_argument("--folds", type=int, default=5, help="cross-fitting folds = members per kind")
    p.add_argument("--evaluate", action="store_true", help="score the cells left out and store it as held-out")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to save the model in (new or empty)")
    p.add_argument("--force", action="store_true", help="replace a model already saved in --out")
    p.add_argument("--chips", metavar="A,B", help="the chips whose rows to fit on (default all in the data); "
                   "with several the model is chip-aware and its default is the profile's first of them")
    p.add_argument("--precompute", choices=["nb201"], help="save the members' outputs for this space with the model, "
                   "so that it answers there without torch (1.6 MB for NB-201)")
    p.set_defaults(func=_fit)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _model_options(p):
    p.add_argument("--training", default="hwa", choices=["hwa", "standard"])
    p.add_argument("--level", type=float, default=0.9, help="interval coverage (default 0.9)")
    p.add_argument("--model", default="anb-cifar10", help="a shipped model name or a saved model directory")
    p.add_argument("--chip", metavar="NAME|FILE", help="the chip to predict for (default: the model's own)")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # `surrogate rank ... | head`: the reader left; stop quietly, as `yes | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, TypeError, OSError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"surrogate: error: {message}", file=sys.stderr)
        return 2
