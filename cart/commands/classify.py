"""``cart classify IMAGE...``, ``cart bench classify`` and ``cart model train``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("classify", help="classify grocery photos with the on-device model")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument(
        "--model", type=Path, default=None, help="a .tflite model (default: shipped int8)"
    )
    p.add_argument("--labels", type=Path, default=None, help="labels.csv (default: shipped)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-k", "--top", type=int, default=5, help="how many classes per image")
    p.set_defaults(func=_classify)

    m = sub.add_parser("model", help="classifier model tools")
    msub = m.add_subparsers(dest="model_command", metavar="ACTION")
    t = msub.add_parser(
        "train",
        help="retrain the classifier (needs the 'train' extra)",
        description="Same as python -m models.training.train.",
    )
    from models.training.train_args import add_arguments

    add_arguments(t)
    t.set_defaults(func=_train)
    m.set_defaults(func=lambda args: (m.print_help(sys.stderr), 2)[1])


def register_bench(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="accuracy, speed and memory of the classifier on the held-out split and val",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="grocery-store folder (default: ../shared/data/grocery-store)",
    )
    p.add_argument("--model", type=Path, default=None)
    p.add_argument(
        "--float-model",
        type=Path,
        default=None,
        help="float model to compare with (default: shipped float16 model)",
    )
    p.add_argument("--no-float", action="store_true", help="skip the float model comparison")
    p.add_argument("--labels", type=Path, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="use only the first N photos of a split")
    p.add_argument(
        "--split",
        choices=("heldout", "val", "both"),
        default="both",
        help="held-out part of train (models/heldout.txt), val, or both (default)",
    )
    p.set_defaults(func=_bench)


def _open(args):
    from models.runtime import DEFAULT_LABELS, DEFAULT_MODEL, Classifier

    return Classifier(
        args.model or DEFAULT_MODEL, args.labels or DEFAULT_LABELS, threads=args.threads
    )


def _classify(args) -> int:
    from models.preprocess import ImageError, load_rgb
    from models.runtime import ClassifierError

    try:
        clf = _open(args)
    except (ClassifierError, ValueError) as exc:
        print(f"cart classify: {exc}", file=sys.stderr)
        return 2
    if not 1 <= args.top <= len(clf.labels):
        print(f"cart classify: -k must be 1..{len(clf.labels)}", file=sys.stderr)
        return 2
    failed = 0
    n_coarse = len({lb.coarse_id for lb in clf.labels})
    with clf:
        for path in args.images:
            try:
                probs = clf.probabilities(load_rgb(path))
            except ImageError as exc:
                print(f"cart classify: {exc}", file=sys.stderr)
                failed += 1
                continue
            top = clf.top(probs, k=args.top)
            coarse = clf.coarse_top(probs, k=min(args.top, n_coarse))
            line = {
                "path": str(path),
                "top": [{"label": label, "score": round(p, 4)} for label, p in top],
                "coarse": [{"label": label, "score": round(p, 4)} for label, p in coarse],
            }
            print(json.dumps(line), flush=True)
    return 1 if failed else 0


def _train(args) -> int:
    from models.training.train import run

    return run(args)


def _data_root(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    from cart.common.paths import grocery_store_dir

    return grocery_store_dir()


def _bench(args) -> int:
    from cart.bench.classify import SPLITS, run_bench, table

    data = _data_root(args.data)
    if not (data / "val.txt").is_file():
        print(f"cart bench classify: no val split at {data} (use --data)", file=sys.stderr)
        return 2
    result = run_bench(
        data,
        model=args.model,
        float_model=None if args.no_float else (args.float_model or "default"),
        labels=args.labels,
        threads=args.threads,
        limit=args.limit,
        splits=SPLITS if args.split == "both" else (args.split,),
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    print(table(result), flush=True)
    print(json.dumps(result), flush=True)
    return 0
