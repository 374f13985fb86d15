"""`monitoring.alerts.grading`: isolated hits are info, persistent drift of an important input is critical."""

from __future__ import annotations

import pytest

from monitoring.alerts.grading import (
    Evidence,
    benjamini_hochberg,
    chance_p_value,
    discoveries,
    grade,
)


def test_two_hits_in_47_chunks_are_chance() -> None:
    evidence = Evidence(hits=2, chunks=47, worst_ratio=1.2)
    assert chance_p_value(evidence) > 0.5
    family = {"OCCUPATION_TYPE": evidence} | {f"F{i}": Evidence(0, 47) for i in range(19)}
    assert discoveries(family) == set()
    assert grade(evidence, important=True, real=False) == "info"


def test_a_single_chunk_hit_on_a_top_feature_is_not_critical() -> None:
    one = Evidence(hits=1, chunks=1, worst_ratio=1.3)
    family = {"EXT_SOURCE_3": one} | {f"F{i}": Evidence(0, 1) for i in range(19)}
    assert "EXT_SOURCE_3" not in discoveries(family)  # 1 test in 20 at 5 %: what chance gives
    strong = Evidence(hits=1, chunks=1, worst_ratio=5.0)
    assert "EXT_SOURCE_3" in discoveries({"EXT_SOURCE_3": strong})
    assert grade(strong, important=True, real=True) == "warning"  # real, but not persistent


def test_persistent_drift_of_an_important_input_is_critical() -> None:
    evidence = Evidence(hits=12, chunks=47, worst_ratio=1.8)
    family = {"EXT_SOURCE_3": evidence} | {f"F{i}": Evidence(1, 47) for i in range(19)}
    assert discoveries(family) == {"EXT_SOURCE_3"}
    assert grade(evidence, important=True, real=True) == "critical"
    assert grade(evidence, important=False, real=True) == "warning"
    assert grade(Evidence(30, 47), important=False, real=True) == "critical"  # most of the window


def test_benjamini_hochberg_step_up() -> None:
    p = {"a": 0.001, "b": 0.008, "c": 0.039, "d": 0.041, "e": 0.9}
    assert benjamini_hochberg(p, q=0.05) == {"a", "b"}
    assert benjamini_hochberg({}, q=0.05) == set()


@pytest.mark.parametrize(("hits", "chunks"), [(0, 10), (0, 0)])
def test_no_hit_is_never_an_alert(hits: int, chunks: int) -> None:
    assert chance_p_value(Evidence(hits, chunks)) == 1.0
    assert grade(Evidence(hits, chunks), important=True, real=True) == "info"
