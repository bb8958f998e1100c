"""``tabdistill distill``: distils a dataset and writes the result (resumable)."""

from __future__ import annotations

import shutil
import sys

from ..archspace import DEFAULT_SPACE
from ..config import INIT_ROWS, DistillConfig
from ..errors import TabdistillError
from ..methods import METHODS
from .evaluate import format_accuracy, summarize_quietly
from .options import (
    DefaultsHelpFormatter,
    add_data_options,
    add_executor_options,
    dataset_from,
    dataset_manifest,
    executor_from,
    non_negative_int,
    positive_float,
    positive_int,
    print_preprocessing,
)

DEFAULTS = DistillConfig()
METHOD_CHOICES = tuple(name for name in METHODS if name != "full")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "distill", help="distil a dataset into a few synthetic batches and their learning rates",
        description="Distil DATA (a built-in dataset name or a CSV/Parquet file) with the paper's "
                    "algorithm; writes distilled.npz and manifest.json into --out.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("data", nargs="?", default="moons",
                   help="built-in dataset (moons, circles, blobs, breast_cancer, wine, iris, "
                        "digits) or a path to a CSV/TSV/Parquet file")
    add_data_options(p)
    d = DEFAULTS
    p.add_argument("--method", default="wang", choices=METHOD_CHOICES,
                   help="wang: the paper's algorithm (every option below); any other method "
                        "makes plain rows, as many per class as steps x per-class (or --budget "
                        "in all), that nets train on with the plain-rows recipe (see "
                        "`tabdistill bench --help` for the methods)")
    p.add_argument("--learner", default=None,
                   help="the learner a per-learner method (search, kip, teacher, auto) makes its "
                        "set for (default for auto: a set for all of mlp2, logreg, knn, rf and "
                        "hgb)")
    p.add_argument("--arch", default=",".join(d.arch),
                   help="architecture(s) of the internal models: linear, mlp2, mlp4 or "
                        "mlp:WIDTHxLAYERS[:ACT]; a comma-separated list spreads the models "
                        "over several architectures (the paper's section 6); random or "
                        "random:WIDTHS:DEPTHS:ACTS draws each model's net at every outer step "
                        f"(random is {DEFAULT_SPACE}; depth 0 is linear)")
    p.add_argument("--steps", type=positive_int, default=d.steps,
                   help="internal steps per internal epoch (s): the number of synthetic batches")
    p.add_argument("--epochs", type=positive_int, default=d.epochs,
                   help="internal epochs; n = steps x epochs inner steps")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--per-class", type=positive_int, default=d.per_class,
                      help="synthetic objects per class in each batch")
    size.add_argument("--budget", type=positive_int, default=None, metavar="N",
                      help="synthetic rows in total instead: per-class = N // (steps x "
                           "classes), fewer steps if even one per class does not fit")
    p.add_argument("--models", type=positive_int, default=d.models,
                   help="internal models (m) drawn at every outer step")
    p.add_argument("--outer-epochs", type=positive_int, default=d.outer_epochs,
                   help="passes over the real train part")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="real objects per outer step")
    p.add_argument("--outer-lr", type=positive_float, default=d.outer_lr,
                   help="Adam learning rate of the outer optimisation")
    p.add_argument("--beta1", type=float, default=d.beta1,
                   help="Adam's first-moment decay of the outer optimisation")
    p.add_argument("--beta2", type=float, default=d.beta2,
                   help="Adam's second-moment decay of the outer optimisation")
    p.add_argument("--init-lr", type=positive_float, default=d.init_lr,
                   help="starting value of every learned inner learning rate")
    p.add_argument("--init", default=d.init,
                   choices=("xavier-normal", "xavier-uniform", "kaiming-normal",
                            "kaiming-uniform"),
                   help="initialisation of the internal models")
    p.add_argument("--fixed-init", action="store_true",
                   help="draw each internal model's weights once and keep them (Wang et al.'s "
                        "fixed-init mode) instead of re-drawing them at every outer step")
    p.add_argument("--learn-labels", action="store_true",
                   help="learn soft labels too, starting from one-hot")
    p.add_argument("--init-rows", default=d.init_rows, choices=INIT_ROWS,
                   help="where the synthetic rows start: N(0, 1) noise (the paper's), random "
                        "train rows of their class, or k-means centroids of their class")
    p.add_argument("--in-domain", action="store_true",
                   help="keep every synthetic row inside the data's domain while distilling: "
                        "numeric values in their train range, one-hot blocks on the simplex "
                        "(the rows are made from parameters, nothing is clipped)")
    p.add_argument("--memory", default=d.memory, choices=("store", "checkpoint"),
                   help="store every inner state, or keep ~sqrt(n) and recompute (same numbers)")
    p.add_argument("--restarts", type=positive_int, default=d.restarts,
                   help="independent runs, each with its own seeds (vectorised)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the restarts")
    p.add_argument("--first-restart", type=non_negative_int, default=0, metavar="K",
                   help="run restarts K to K + restarts - 1: restart r's numbers depend only on "
                        "the seed and r, so that several commands (on several machines or "
                        "cores) can share one set of restarts")
    add_executor_options(p, "slices of the restarts", local_default=1)
    p.add_argument("--out", default="distilled", metavar="DIR",
                   help="output directory (replaced atomically)")
    p.add_argument("--eval-inits", type=int, default=10, metavar="K",
                   help="after distilling, train K fresh models per restart of each "
                        "architecture on the result and print their test accuracy (0: skip)")
    p.add_argument("--no-resume", action="store_true",
                   help="start afresh instead of resuming an interrupted run with the same "
                        "--out (its checkpoint is kept in the hidden sibling .DIR.partial)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..io import check_output, partial_dir, save, writing
    from ..parallel import distill_restarts
    from ..progress import progress_bar
    from ..resume import epochs_done
    from ..sizing import size_config, size_manifest

    check_output(args.out, directory=True)  # before the work, not after it
    if METHODS[args.method].per_learner and args.method != "auto" and args.learner is None:
        raise TabdistillError(f"method {args.method} makes a set for one learner; expected one "
                              "named with --learner")
    config = DistillConfig(
        arch=args.arch, steps=args.steps, epochs=args.epochs, per_class=args.per_class,
        models=args.models, outer_epochs=args.outer_epochs, batch_size=args.batch_size,
        outer_lr=args.outer_lr, beta1=args.beta1, beta2=args.beta2, init_lr=args.init_lr,
        init=args.init, fixed_init=args.fixed_init,
        learn_labels=args.learn_labels, memory=args.memory, init_rows=args.init_rows,
        in_domain=args.in_domain, restarts=args.restarts, seed=args.seed,
    ).validate()
    dataset = dataset_from(args)
    config = size_config(config, dataset.X_train.shape[0], dataset.n_classes,
                         budget=args.budget)
    size = size_manifest(config, dataset.n_classes, dataset.X_train.shape[0], args.budget)
    print_preprocessing(dataset)
    if size["n_synthetic_rows"] >= size["n_train_rows"]:  # allowed (the paper's moons is close)
        note(f"the distilled set ({size['n_synthetic_rows']} rows) is not smaller than the "
             f"{size['n_train_rows']} train rows; --budget N or a smaller --per-class / --steps "
             "makes it smaller")
    if args.method != "wang":
        if args.first_restart:
            raise TabdistillError(f"--first-restart is for --method wang; method {args.method} "
                                  "makes its restarts in one command")
        return run_rows(args, dataset, config, size)
    partial = partial_dir(args.out)
    if args.no_resume:
        shutil.rmtree(partial, ignore_errors=True)
    try:
        with writing(args.out), executor_from(args) as executor, \
                progress_bar(config.outer_epochs, "distilling", disable=args.quiet) as bar:
            distilled = distill_restarts(dataset, config, executor, progress=bar,
                                         checkpoint=partial, note=note,
                                         first_restart=args.first_restart)
            out = save(args.out, distilled, {**dataset_manifest(args, dataset), "size": size},
                       transformer=dataset.transformer)
    except KeyboardInterrupt:
        done = epochs_done(partial)
        if done is None:
            print("tabdistill: interrupted before the first outer epoch ended; nothing was "
                  "written", file=sys.stderr)
        else:
            print(f"tabdistill: interrupted after epoch {done}/{config.outer_epochs}; run the "
                  "same command again to resume", file=sys.stderr)
        return 130
    shutil.rmtree(partial, ignore_errors=True)  # the result is safe: nothing left to resume
    print(f"distilled {dataset.name}: {distilled.n_restarts} restart(s) x {config.steps} "
          f"batches x {distilled.x.shape[2]} objects, n = {config.n_inner} steps, "
          f"{distilled.seconds:.1f} s -> {out}")
    print(f"  {size['n_synthetic_rows']} synthetic rows per restart for {size['n_train_rows']} "
          f"train rows: compression {size['compression_ratio']:.1f}x")
    if args.eval_inits > 0:
        from ..evaluate import evaluate
        # A random space is checked on the paper's three nets.
        for arch in config.arch if config.space is None else ("linear", "mlp2", "mlp4"):
            result = evaluate(distilled, dataset.X_test, dataset.y_test, arch=arch,
                              inits=args.eval_inits)
            s = summarize_quietly(result)
            print(f"  {arch:>8} trained on it (raw steps): test accuracy "
                  f"{format_accuracy(s, digits=3)}")
    return 0


def note(text: str) -> None:
    """Prints a one-line note (module level, so that worker processes can be given it)."""
    print(f"note: {text}", flush=True)


def run_rows(args, dataset, config, size) -> int:
    """``distill --method M`` for a method of plain rows: no outer loop, so nothing to resume."""
    from ..io import save, writing
    from ..learners import parse_learner
    from ..methods import make_distilled

    if args.learner is not None:
        parse_learner(args.learner)  # fail before the work
    rows_per_class = config.steps * config.per_class
    with writing(args.out):
        distilled, choice = make_distilled(dataset, args.method, rows_per_class,
                                           restarts=config.restarts, seed=config.seed,
                                           nets=config.arch, learner=args.learner)
        manifest = {**dataset_manifest(args, dataset), "size": size,
                    "requested_method": args.method, "learner": args.learner}
        if choice is not None:
            manifest["auto"] = choice
        out = save(args.out, distilled, manifest, transformer=dataset.transformer)
    if choice is not None and not choice["validation"]:
        print(f"auto took {choice['method']}, its one candidate for {args.learner} at this "
              "budget")
    elif choice is not None:
        scores = ", ".join(f"{m} {v:.4f} ± {choice['error'][m]:.4f}"
                           for m, v in choice["validation"].items())
        print(f"auto chose {choice['method']} (validation balanced accuracy ± paired error "
              f"against the best: {scores})")
    print(f"made {dataset.name} with {distilled.method}: {distilled.n_restarts} restart(s) x "
          f"{distilled.x.shape[2]} rows, {distilled.seconds:.1f} s -> {out}")
    if args.eval_inits > 0:
        from .evaluate import evaluate_learners
        learners = [args.learner] if args.learner else list(config.arch)
        for s in evaluate_learners(distilled, dataset, learners, seed=config.seed):
            print(f"  {s['learner']:>8} trained on it: test accuracy {s['accuracy_mean']:.3f} "
                  f"± {s['accuracy_std']:.3f} over {s['n']} restart(s)")
    return 0
