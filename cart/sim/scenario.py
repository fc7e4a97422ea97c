"""Hand-written trips: a scenario file is a timeline of shopper steps with its ground truth.

TOML, validated before anything runs (unknown keys, unknown products, unknown item names,
bad numbers: one clear error per problem, naming the file and the entry)::

    name = "barcode swap, weight alike"
    profile = "clean"            # clean | typical | harsh (device noise and camera model)
    seed = 7                      # device noise and camera draws
    camera = "perfect"            # modelled | perfect (right label, 0.95) | measured | none
    expect = { exact = true, alerts = ["scan_added"] }   # checked by tests and `cart trip`

    [[item]]
    id = "wine"                   # a name for the steps below
    product = "red-wine-75"       # catalogue product id
    grams = 1250.0                # real weight on the scale (default: the catalogue's)
    bagged = false                # produce in a store bag (its tare is in the catalogue)
    cheat = "barcode_swap"        # optional: never_scanned | barcode_swap | cheaper_plu |
    claimed = "juice-1l"          #   scanned_not_placed; claimed: the product pretended

    [[step]]
    do = "scan"                   # scan | place | remove | select_produce | bag | push | checkout
    items = ["wine"]              # scan/select_produce: one item; place: one or more
    after_ms = 3000               # time since the previous step (default 3000)
    code = "..."                  # optional: the code scanned / PLU entered instead
    grams = 120.0                 # bag: its weight
    ms = 5000                     # push: how long
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cart.sim.shopper import CHEATS, Op, Trip, TruthItem

STEP_KINDS = ("scan", "place", "remove", "select_produce", "bag", "push", "checkout")
_TOP = {"name", "profile", "seed", "item", "step", "description", "camera", "expect"}
_EXPECT = {"exact", "review", "caught", "checked_out", "alerts"}
_ITEM = {"id", "product", "grams", "bagged", "cheat", "claimed"}
_STEP = {"do", "items", "after_ms", "code", "grams", "ms"}


class ScenarioError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scenario(path: str | Path, products) -> tuple[Trip, dict]:
    """Parse and validate a scenario; returns the trip and its header (name, profile, seed)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read scenario: {exc}"]) from None
    problems: list[str] = []
    header = _header(path, raw, problems)
    items: list[TruthItem] = []
    by_name: dict[str, TruthItem] = {}
    for i, it in enumerate(raw.get("item", [])):
        ti = _item(f"{path}: item {i + 1}", it, products, by_name, len(items), problems)
        if ti is not None:
            items.append(ti)
            by_name[it["id"]] = ti
    ops = [
        op
        for i, st in enumerate(raw.get("step", []))
        if (op := _step(f"{path}: step {i + 1}", st, by_name, problems)) is not None
    ]
    if not ops or ops[-1].kind != "checkout":
        problems.append(f"{path}: the last step must be 'checkout'")
    if problems:
        raise ScenarioError(problems)
    cheats = {it.cheat for it in items if it.cheat}
    trip = Trip(
        header["seed"],
        items,
        ops,
        cheat=next(iter(cheats)) if cheats else None,
        age_check=any(it.product.age_restricted for it in items),
    )
    trip.bag_g = sum(op.grams for op in ops if op.kind == "bag")
    return trip, header


def _header(path: Path, raw: dict, problems: list[str]) -> dict:
    """The scenario's top-level keys (name, profile, seed, camera, expect), checked."""
    for k in raw:
        if k not in _TOP:
            problems.append(f"{path}: unknown key {k!r}")
    header = {
        "name": str(raw.get("name", path.stem)),
        "profile": raw.get("profile", "clean"),
        "seed": raw.get("seed", 1),
        "camera": raw.get("camera", "modelled"),
        "expect": raw.get("expect", {}),
    }
    if header["camera"] not in ("modelled", "perfect", "measured", "none"):
        problems.append(
            f"{path}: camera {header['camera']!r}: use modelled, perfect, measured or none"
        )
    if not isinstance(header["expect"], dict):
        problems.append(f"{path}: expect must be a table")
        header["expect"] = {}
    for k, v in header["expect"].items():
        if k not in _EXPECT:
            problems.append(f"{path}: expect: unknown key {k!r}")
        elif k == "alerts":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                problems.append(f"{path}: expect.alerts must be a list of alert kinds")
        elif not isinstance(v, bool):
            problems.append(f"{path}: expect.{k} must be true or false")
    if header["profile"] not in ("clean", "typical", "harsh"):
        problems.append(f"{path}: profile {header['profile']!r}: use clean, typical or harsh")
    if not isinstance(header["seed"], int) or isinstance(header["seed"], bool):
        problems.append(f"{path}: seed must be an integer")
    return header


def _item(
    where: str, it, products, by_name: dict, idx: int, problems: list[str]
) -> TruthItem | None:
    """One ``[[item]]`` as the truth it stands for, or None (with the problems noted)."""
    if not isinstance(it, dict):
        problems.append(f"{where}: must be a table")
        return None
    for k in it:
        if k not in _ITEM:
            problems.append(f"{where}: unknown key {k!r}")
    name = it.get("id")
    if not isinstance(name, str) or not name or name in by_name:
        problems.append(f"{where}: 'id' must be a unique non-empty string")
        return None
    p = products.get(it.get("product", ""))
    if p is None:
        problems.append(f"{where} ({name}): unknown product {it.get('product')!r}")
        return None
    grams = it.get("grams", p.unit_weight_g)
    if not isinstance(grams, (int, float)) or isinstance(grams, bool) or grams <= 0:
        problems.append(f"{where} ({name}): grams must be a positive number")
        return None
    bagged = bool(it.get("bagged", False))
    cheat = it.get("cheat")
    if cheat is not None and cheat not in CHEATS:
        problems.append(f"{where} ({name}): cheat {cheat!r}: one of {', '.join(CHEATS)}")
    claimed = None
    if "claimed" in it:
        claimed = products.get(it["claimed"])
        if claimed is None:
            problems.append(f"{where} ({name}): unknown claimed product {it['claimed']!r}")
    bag = (p.tare_g if p.tare_g > 0 else 5.0) if bagged else 0.0
    return TruthItem(
        idx, p, float(grams) + bag, float(grams), bagged=bagged, cheat=cheat, claimed=claimed
    )


def _step(where: str, st, by_name: dict, problems: list[str]) -> Op | None:
    """One ``[[step]]`` as the shopper's operation, or None (with the problem noted)."""
    if not isinstance(st, dict):
        problems.append(f"{where}: must be a table")
        return None
    for k in st:
        if k not in _STEP:
            problems.append(f"{where}: unknown key {k!r}")
    kind = st.get("do")
    if kind not in STEP_KINDS:
        problems.append(f"{where}: 'do' must be one of {', '.join(STEP_KINDS)}")
        return None
    names = st.get("items", [])
    if isinstance(names, str):
        names = [names]
    problem = _step_problem(kind, names, st, by_name)
    if problem:
        problems.append(f"{where}: {problem}")
        return None
    return Op(
        kind,
        st.get("after_ms", 3000),
        tuple(by_name[n].idx for n in names),
        code=st.get("code"),
        grams=float(st.get("grams", 0.0)),
        ms=int(st.get("ms", 0)),
    )


def _step_problem(kind: str, names: list, st: dict, by_name: dict) -> str:
    """What is wrong with a step's items, timing or code ("" when nothing is)."""
    missing = [n for n in names if n not in by_name]
    if missing:
        return f"unknown item(s) {', '.join(map(repr, missing))}"
    need = {"scan": 1, "select_produce": 1, "remove": 1}.get(kind)
    if need is not None and len(names) != 1:
        return f"{kind} takes exactly one item"
    if kind == "place" and not names:
        return "place needs at least one item"
    after = st.get("after_ms", 3000)
    if not isinstance(after, int) or after < 0:
        return "after_ms must be a non-negative integer"
    code = st.get("code")
    if code is not None and not isinstance(code, str):
        return "code must be a string"
    return ""


def check_expectations(header: dict, result) -> list[str]:
    """What a played scenario did differently from its ``expect`` table."""
    exp = header.get("expect", {})
    wrong = []
    for key in ("exact", "review", "caught", "checked_out"):
        if key in exp and bool(getattr(result, key)) != exp[key]:
            wrong.append(f"expected {key} = {exp[key]}, got {getattr(result, key)}")
    for kind in exp.get("alerts", []):
        if not result.kinds.get(kind):
            wrong.append(f"expected a {kind!r} alert; raised: {sorted(result.kinds)}")
    return wrong
