"""Replica counts for a latency target, and the sentence the plan shows about latency (P7).

Latency at ``peak / replicas`` falls as replicas rise (the load per replica falls), so the
fewest replicas meeting a target is found by a doubling search then a bisection."""

from __future__ import annotations

from distillplan.sizing.latency import Latency, Replica
from distillplan.text import count

__all__ = ["latency_note", "meets", "replicas_for_latency"]

_MAX_REPLICAS = 1 << 20


def meets(lat: Latency, ttft_ms: float | None, tpot_ms: float | None) -> bool:
    return (
        lat.stable
        and (ttft_ms is None or lat.ttft_p95_ms <= ttft_ms)
        and (tpot_ms is None or lat.tpot_p95_ms <= tpot_ms)
    )


def replicas_for_latency(rep: Replica, peak: float, ttft_ms: float | None, tpot_ms: float | None) -> int | None:
    """The fewest replicas whose p95 latency at ``peak / replicas`` meets the target; None
    when even an idle replica misses it. Latency falls as replicas rise, so a doubling
    search then a bisection finds it in ~2 log2(replicas) evaluations."""
    if not meets(rep.at(0.0), ttft_ms, tpot_ms):
        return None
    if peak <= 0 or meets(rep.at(peak), ttft_ms, tpot_ms):
        return 1
    low, high = 1, 2
    while not meets(rep.at(peak / high), ttft_ms, tpot_ms):
        low, high = high, high * 2
        if high > _MAX_REPLICAS:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        if meets(rep.at(peak / mid), ttft_ms, tpot_ms):
            high = mid
        else:
            low = mid
    return high


def latency_note(
    rep: Replica,
    at_load: Latency | None,
    replicas: int,
    thr: int,
    lat_replicas: int | None,
    binds: str,
    ttft_ms: float | None,
    tpot_ms: float | None,
    met: bool | None,
) -> str:
    if at_load is None:
        return "no latency: the model does not fit"
    idle = rep.at(0.0)
    if at_load.stable:
        now = (
            f"at the planned load ({at_load.rate:.2f} requests/s per replica): TTFT p50 {at_load.ttft_p50_ms:,.0f} ms,"
            f" p95 {at_load.ttft_p95_ms:,.0f} ms; TPOT p50 {at_load.tpot_p50_ms:,.1f} ms,"
            f" p95 {at_load.tpot_p95_ms:,.1f} ms"
        )
    else:
        now = f"at the planned load ({at_load.rate:.2f} requests/s per replica) a replica is past capacity"
    idle_s = f"idle replica: TTFT {idle.ttft_p95_ms:,.0f} ms, TPOT {idle.tpot_p95_ms:,.1f} ms"
    if ttft_ms is None and tpot_ms is None:
        sets = count(replicas, "replica")
        return f"{now} ({idle_s}); no [workload] latency target, so throughput sets {sets}"
    target = " and ".join(
        t
        for t in (
            f"p95 TTFT <= {ttft_ms:g} ms" if ttft_ms is not None else "",
            f"p95 TPOT <= {tpot_ms:g} ms" if tpot_ms is not None else "",
        )
        if t
    )
    if lat_replicas is None:
        return f"target {target} cannot be met on this GPU and precision even by an idle replica ({idle_s}); {now}"
    if binds == "pinned":
        return f"replicas pinned at {replicas}; target {target} {'met' if met else 'missed'}: {now}"
    why = (
        f"latency binds: {count(lat_replicas, 'replica')} for {target}, throughput alone needs {thr}"
        if binds == "latency"
        else f"throughput binds: {count(thr, 'replica')}; {target} needs {lat_replicas}"
    )
    return f"{why}; {now}"
