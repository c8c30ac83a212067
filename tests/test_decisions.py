"""Golden decisions: statement -> the exact SQL the warehouse runs, or the exact rejection.

Regenerate deliberately (and review the diff) when the rewrite changes on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proxy.check import check
from proxy.policy import load_deployment

REPO = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((REPO / "tests" / "golden" / "decisions.yaml").read_text())


@pytest.fixture(scope="module")
def deployment():
    return load_deployment(REPO / "catalog", REPO / "policies")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['user']}: {c['sql'][:50]}" for c in CASES])
def test_decision(case, deployment):
    (decision,) = check(deployment, case["user"], case.get("purpose"), case["sql"])
    if "allow" in case:
        assert type(decision).__name__ == "Allow", getattr(decision, "message", "")
        assert decision.sql == case["allow"]
    else:
        expected = case["reject"]
        assert type(decision).__name__ == "Reject", decision.sql
        assert decision.sqlstate == expected["sqlstate"]
        assert decision.message == expected["message"]
        assert decision.detail == expected.get("detail")
        assert decision.hint, "every rejection says what to do"
