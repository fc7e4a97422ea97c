"""Fusion's settings: one ``FusionConfig`` of named thresholds, and per-rule views of it.

Every rule in ``cart.fusion.rules`` declares the thresholds it uses as a frozen dataclass whose
fields are named after ``FusionConfig`` fields; ``settings_from`` fills it from a config. So
``FusionConfig`` stays the one place a threshold is set (and documented), and a rule's settings
say exactly which of them it reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


@dataclass(frozen=True)
class FusionConfig:
    place_timeout_ms: int = 25_000  # a scanned item should be on the scale by then
    take_out_timeout_ms: int = 30_000  # a line deleted on screen: its item should leave by then
    min_change_g: float = 6.0  # smaller settled changes are not items (drift, crumbs)
    min_item_g: float = 15.0  # lighter changes with no camera sighting are load shifts
    scale_sigma_g: float = 1.5  # scale error σ when a settle reports no noise estimate
    match_k: float = 4.0  # a weight fits an expectation within match_k σ
    match_floor_g: float = 4.0  # ... and never tighter than this
    max_subset: int = 4  # items placed at once matched against pending scans
    max_quantity: int = 24
    quantity_window_ms: int = 15_000  # "n × the item just scanned" only soon after its scan
    produce_window_ms: int = 60_000  # produce chosen before placing waits this long
    answer_window_ms: int = 30_000  # a scan answers "scan the item you just added" this soon
    readd_window_ms: int = 120_000  # an item taken out and put back within this is re-billed
    verdict_before_ms: int = 4_000  # a camera verdict this long before a settle belongs to it
    verdict_after_ms: int = 1_500  # ... or this long after it
    recheck_window_ms: int = 10_000  # "show it again": the verdict must come this soon
    slump_ms: int = 3_000  # a small rise this soon after a produce placement is its rest ...
    slump_start_ms: int = 1_000  # ... or one that began to move this soon (a long ring)
    undo_ms: int = 5_000  # a drop the weight comes straight back from this soon did not happen
    # a drop several products fit is asked about at the next weight change, a line deleted on
    # screen, check-out, or this long after it, whichever is first: an item lifted out to read
    # its label and put back meanwhile needs no question (nothing leaves the bill while it
    # waits), and a shopper who took it out for good is asked while still at the cart
    which_removed_hold_ms: int = 10_000
    defer_below_g: float = 30.0  # lighter changes the camera did not see wait a moment ...
    defer_ms: int = 4_000  # ... this long, for the load to settle back (then nothing happened)
    push_ms: int = 4_000  # a change that settled after moving this long: the cart was pushed
    # the load's own shift, as a share of it: load-cell creep and hysteresis over a load
    # cycle, and the corner error when items slide (a drop this small after a push is no item)
    shift_frac: float = 0.002
    vision_prior: float = 0.97  # prior that a scanned code names the item placed
    readd_prior: float = 0.5  # prior that an unscanned item of a removed item's weight is it
    vision_flag_below: float = 0.7  # posterior of the scanned product below this: an alert
    vision_min_alt: float = 0.05  # classifier labels weaker than this are not alternatives
    produce_vision_min: float = 0.35  # camera this sure of produce: ask "which produce?"
    personal_max_g: float = 600.0  # heavier "personal items" need staff, as do later ones
    personal_vision_max: float = 0.6  # camera this sure of a store product: not personal
    bag_tare_g: float = 5.0  # a store produce bag, when the product names no tare
    vision_price_margin: float = 0.20  # look-alikes dearer by more than this are alternatives
    produce_needs_view: bool = True  # produce the camera did not see must be shown to it
    use_vision: bool = True  # False: ignore camera verdicts (the bench's baseline)
    # the classifier's measured behaviour (``camera_confusion_from``): label -> {top-1 label:
    # share of that label's validation photos}, "" -> the share of a top-1 never measured.
    # With it, the camera's word for a label blends its probability with how often photos
    # of that label really come out as this verdict's top-1 (see docs/FUSION.md)
    camera_confusion: Mapping[str, Mapping[str, float]] | None = field(default=None, hash=False)
    confusion_weight: float = 0.5  # weight of the measured confusion in the blend
    confusion_alt: float = 0.2  # labels that come out as this top-1 this often: alternatives
    # the scanned product against its strongest look-alike, not the average of every label
    # above vision_min_alt (a smoother classifier lists more of them, and the average dilutes)
    best_alternative: bool = True
    joint_views: bool = True  # "show it again": judge both views together, not the last alone
    # the classifier's hierarchy: fine label -> coarse class (models/labels.csv). With it, a
    # verdict whose best fine label is below vision_fine_sure is weighed by coarse class (the
    # camera says "an apple", not which apple); None: always by fine label
    camera_coarse: Mapping[str, str] | None = field(default=None, hash=False)
    vision_fine_sure: float = 0.35


def settings_from(cls: type[T], cfg: FusionConfig) -> T:
    """``cls`` (a dataclass whose fields are named after ``FusionConfig`` fields) filled with
    ``cfg``'s values."""
    return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """How a weight is matched against an expectation (every rule that compares weights)."""

    match_k: float
    match_floor_g: float
    scale_sigma_g: float


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """How the camera's verdict is weighed against a product (``evidence.posterior``)."""

    vision_prior: float
    vision_min_alt: float
    vision_price_margin: float
    scale_sigma_g: float
    confusion_weight: float
    confusion_alt: float
    best_alternative: bool
    joint_views: bool
    camera_confusion: Mapping[str, Mapping[str, float]] | None = field(default=None, hash=False)
    camera_coarse: Mapping[str, str] | None = field(default=None, hash=False)
    vision_fine_sure: float = 0.35
