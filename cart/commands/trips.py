"""``cart trip SCENARIO`` (play one hand-written trip and show what happened) and
``cart bench trips`` (many simulated trips scored against the truth; JSON line last)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("trip", help="play a scenario file through the cart and show what happened")
    p.add_argument("scenario", help="scenario file (TOML; see cart/sim/scenarios/)")
    p.add_argument("--store", default=None, help="store folder (default: the demo store)")
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    p.add_argument(
        "--scale",
        choices=("bridge", "model"),
        default="bridge",
        help="bridge: the simulated scale bridge through the real driver pipeline",
    )
    p.set_defaults(func=_trip)


def register_bench(sub) -> None:
    p = sub.add_parser("trips", help="simulated shopping trips: bill accuracy, reviews, catches")
    p.add_argument("--trips", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", choices=("clean", "typical", "harsh"), default="typical")
    p.add_argument("--scenario", default=None, help="play this scenario file N times instead")
    p.add_argument("--vision", choices=("auto", "measured", "modelled"), default="auto")
    p.add_argument("--no-baseline", action="store_true", help="skip the camera-less baseline")
    p.add_argument(
        "--calibration",
        choices=("held-out", "in-sample"),
        default="held-out",
        help="photos the fusion's camera confusion is measured on: half of each "
        "class's photos with trips drawn from the other half (held-out), or "
        "the same photos the trips draw from (in-sample)",
    )
    p.add_argument(
        "--scale",
        choices=("model", "bridge"),
        default="model",
        help="model: settles with the bridge's measured noise (fast); bridge: every "
        "placement through the simulated bridge and the real pipeline (slow)",
    )
    p.add_argument(
        "--path",
        choices=("model", "live"),
        default="model",
        help="model: modelled settles straight into fusion; live: the same trips also through "
        "the assembled cart (real drivers on simulated devices, runtime, journal, the screen's "
        "actions), both reported side by side",
    )
    p.add_argument(
        "--physics",
        choices=("profile", "random"),
        default="profile",
        help="profile: the profile's scale; random: each trip's scale and basket drawn from "
        "wide ranges (docs/FUSION.md)",
    )
    p.add_argument("--store", default=None)
    p.set_defaults(func=_bench)


def _load_store(path):
    from cart.store.loading import CatalogError, load_store

    try:
        return load_store(path) if path else load_store()
    except CatalogError as exc:
        import sys

        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _bench(args) -> int:
    import json
    import sys

    from cart.sim.inferred_vision import VisionUnavailable
    from cart.sim.scenario import ScenarioError

    if args.trips < 1:
        print("--trips must be at least 1", file=sys.stderr)
        return 2
    store = _load_store(args.store)
    if store is None:
        return 2
    from cart.bench.trips import run_bench

    try:
        if args.path == "live":
            if args.scenario is not None:
                print(
                    "--path live plays the shopper model's trips, not --scenario", file=sys.stderr
                )
                return 2
            from cart.bench.live_trips import run_live_bench

            out = run_live_bench(
                store,
                trips=args.trips,
                seed=args.seed,
                profile=args.profile,
                vision=args.vision,
                physics=args.physics,
                progress=lambda k: print(f"{k} live trips", file=sys.stderr),
            )
            print(json.dumps(out, sort_keys=False))
            return 0
        out = run_bench(
            store,
            trips=args.trips,
            seed=args.seed,
            profile=args.profile,
            scenario=args.scenario,
            baseline=not args.no_baseline,
            vision=args.vision,
            scale=args.scale,
            calibration=args.calibration,
            progress=lambda k: print(f"{k} trips", file=sys.stderr),
            physics=args.physics,
        )
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except VisionUnavailable as exc:
        print(f"--vision measured: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, sort_keys=False))
    return 0


def _trip(args) -> int:
    import json
    import sys

    from cart.common.text import printable
    from cart.sim.scenario import ScenarioError, load_scenario
    from cart.sim.shopper import PROFILES
    from cart.sim.trips import T0, TripRunner

    store = _load_store(args.store)
    if store is None:
        return 2
    from cart.fusion.store import StoreProducts

    try:
        trip, header = load_scenario(args.scenario, StoreProducts(store))
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    from cart.bench.trips import vision_factory
    from cart.sim.inferred_vision import VisionUnavailable
    from cart.sim.scenario import check_expectations
    from cart.sim.trips import scenario_vision

    camera = header["camera"]
    try:
        factory = (
            scenario_vision(camera)
            if camera in ("perfect", "none")
            else vision_factory(store, "measured" if camera == "measured" else "modelled")
        )
    except VisionUnavailable as exc:
        print(f'{args.scenario}: camera = "measured": {exc}', file=sys.stderr)
        return 2
    runner = TripRunner(
        store, PROFILES[header["profile"]], keep_log=True, vision_factory=factory, scale=args.scale
    )
    res = runner.run(trip)
    wrong = check_expectations(header, res)
    if not args.quiet:
        for direction, x in res.log:
            name = type(x).__name__
            if name == "WeightMoving":
                continue
            fields = ", ".join(f"{k}={v!r}" for k, v in _fields(x) if k != "t_ms")
            arrow = ">" if direction == "in" else "  <"
            print(f"{(x.t_ms - T0) / 1000:8.1f}s {arrow} {name}({printable(fields, 160)})")
    print(
        json.dumps(
            {
                "scenario": header["name"],
                "checked_out": res.checked_out,
                "staff": res.staff,
                "bill_minor": res.bill_minor,
                "truth_minor": res.truth_minor,
                "exact": res.exact,
                "caught": res.caught,
                "alerts": res.kinds,
                "expectations_met": not wrong,
            }
        )
    )
    for w in wrong:
        print(f"{args.scenario}: {w}", file=sys.stderr)
    return 1 if wrong else 0


def _fields(x):
    import dataclasses

    for f in dataclasses.fields(x):
        v = getattr(x, f.name)
        if f.name == "flag":
            yield "flag", f"#{v.id} {v.kind}: {v.message}"
        else:
            yield f.name, v
