"""The hand-labelled lineage corpus (tests/data/lineage_corpus.yml): no column a model reads is ever missed.

Recall must be 1.0: a missed reader is a break the gate lets through. Precision (columns named that the
model does not read) is printed with the fallback reasons met, each with its count: a model that falls back
is named for every column of what it reads, which costs precision, never recall.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshkit.lineage.sql import Parent, analyse

CORPUS = yaml.safe_load((Path(__file__).parents[1] / "data" / "lineage_corpus.yml").read_text())
CASES: list[dict[str, Any]] = CORPUS["cases"]


def _parents(dialect: str) -> list[Parent]:
    return [
        Parent(key, tuple(part.strip('"`').lower() for part in spec["relation"].split(".")), tuple(spec["columns"]))
        for key, spec in CORPUS["parents"][dialect].items()
    ]


def _named(case: dict[str, Any]) -> tuple[dict[str, set[str]], str | None]:
    """The columns of each parent a change would name this model for, and the fallback reason if any."""
    parents = _parents(case["dialect"])
    analysis = analyse(case["sql"], case["dialect"], parents)
    every = {p.key: set(p.columns or ()) for p in parents}
    if analysis.problem is not None:
        # It falls back for every parent it depends on (its manifest's depends_on: here, the labelled ones).
        return {key: every[key] for key in case["reads"]}, analysis.problem
    named = {key: set(columns) for key, columns in analysis.reads.items()}
    for key in analysis.everything:
        named[key] = every[key]
    return named, None


def test_the_corpus_covers_what_the_issue_asks() -> None:
    assert len(CASES) >= 40
    assert {c["dialect"] for c in CASES} == {"duckdb", "postgres", "snowflake", "bigquery"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_no_column_read_is_missed(case: dict[str, Any]) -> None:
    named, problem = _named(case)
    missed = {key: set(columns) - named.get(key, set()) for key, columns in case["reads"].items()}
    assert not any(missed.values()), f"missed {missed}; named {named}"
    assert (problem is not None) == bool(case.get("fallback")), problem


def test_recall_and_precision_over_the_corpus() -> None:
    labelled = named_total = right = 0
    reasons: Counter[str] = Counter()
    for case in CASES:
        named, problem = _named(case)
        if problem is not None:
            reasons[problem.split(" (")[0]] += 1
        for key, columns in case["reads"].items():
            labelled += len(columns)
            right += len(set(columns) & named.get(key, set()))
        named_total += sum(len(columns) for columns in named.values())
    recall, precision = right / labelled, right / named_total
    print(
        f"\nlineage corpus: {len(CASES)} models, recall {recall:.3f}, precision {precision:.3f} ({right}/{named_total})"
    )
    for reason, count in reasons.most_common():
        print(f"  fallback: {reason} ({count})")
    assert recall == 1.0
