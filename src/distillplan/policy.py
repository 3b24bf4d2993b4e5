"""The playbook's thresholds and bands (DOMAIN.md), every one a default that ``[policy]``
in ``distill.toml`` can override. This is the only module that holds those figures."""

# No `from __future__ import annotations` here: pydantic would then evaluate every
# annotation string at class creation, which costs the pre-commit path ~10 ms.

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from distillplan.sizing import SizingAssumptions


def _ordered(band: tuple[float, float]) -> tuple[float, float]:
    if band[0] > band[1]:
        raise ValueError(f"band must be [low, high] with low <= high (got [{band[0]:g}, {band[1]:g}])")
    return band


#: ``[low, high]``, both >= 0.
Band = Annotated[tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]], AfterValidator(_ordered)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class ProjectBands(_Section):
    """P4: USD band of each project cost line."""

    eval_set: Band = (8_000, 25_000)
    teacher_inference: Band = (4_000, 20_000)
    human_validation: Band = (6_000, 30_000)
    fine_tune_compute: Band = (3_000, 12_000)
    deployment: Band = (10_000, 25_000)
    eval_cycles: Band = (4_000, 8_000)


class Policy(_Section):
    """Every threshold the verdict uses, with its P-number."""

    volume_floor_tokens_per_month: float = Field(
        default=50e6, gt=0, description="P2.2: below this, stay on the frontier model."
    )
    volume_structural_tokens_per_month: float = Field(
        default=200e6, gt=0, description="P2.2: above this, distillation is the structural answer."
    )
    routing_savings_share: Band = Field(
        default=(0.30, 0.50), description="P2.2: share of inference spend model routing saves."
    )
    gap_defensible_points: Band = Field(default=(2.0, 3.0), description="P5.1: defensible accuracy gap, points.")
    gap_high_stakes_points: float = Field(default=1.0, ge=0, description="P5.2: gap bound for high-stakes workloads.")
    cache_student_share: Band = Field(default=(0.85, 0.95), description="P5.3: share the router sends to the student.")
    payback_accept_under_months: float = Field(default=9.0, gt=0, description="P6.3: CFOs accept payback under this.")
    payback_refuse_over_months: float = Field(default=12.0, gt=0, description="P6.3: CFOs refuse payback over this.")
    payback_typical_months: Band = Field(
        default=(3.0, 7.0), description="P6.4: typical payback of justified workloads."
    )
    hardware_share_of_frontier: Band = Field(
        default=(0.01, 0.04), description="P6.5: hardware bill over frontier spend."
    )
    requests_per_second_per_gpu: Band = Field(
        default=(60.0, 200.0), description="P7.1: one A100 serves a 13B student at this rate."
    )
    project_bands_usd: ProjectBands = Field(default_factory=ProjectBands, description="P4 project cost bands.")
    teacher_on_sample_usd_per_month: Band = Field(
        default=(400.0, 1_200.0), description="P8: weekly teacher-on-sample re-evaluation."
    )
    redistillation_usd_per_year: Band = Field(
        default=(20_000.0, 60_000.0), description="P8: annual full re-distillation cycle."
    )
    observability_usd_per_month: float = Field(
        default=300.0,
        ge=0,
        description=(
            "distillplan's default for the telemetry bill "
            "(P8 puts drift detection in the observability stack; no figure given)."
        ),
    )
    revisit_months: int = Field(default=6, gt=0, description="P2.4: revisit a refused case in two quarters.")
    sizing: SizingAssumptions = Field(
        default_factory=SizingAssumptions, description="Stated assumptions of the A100 sizing model."
    )


def band_value(band: tuple[float, float], estimate: str) -> float:
    """The value of ``band`` at ``estimate`` (low, mid = midpoint, high)."""
    low, high = band
    return {"low": low, "mid": (low + high) / 2, "high": high}[estimate]
