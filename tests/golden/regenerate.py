"""Regenerate the golden fixtures from the current code, on purpose: review the diff after.

    .venv/bin/python -m tests.golden.regenerate            # both files
    .venv/bin/python -m tests.golden.regenerate lineage    # one of them

Only the expectations are recomputed; the statements (sql, user, purpose) stay as written.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlglot
import yaml

from proxy.check import check
from proxy.policy import load_deployment
from proxy.sql.lineage import LineageBuilder
from proxy.sql.resolve import qualify_statement

GOLDEN = Path(__file__).resolve().parent
REPO = GOLDEN.parents[1]


def _lineage(case: dict[str, Any], deployment: Any) -> dict[str, Any]:
    parsed = sqlglot.parse_one(case["sql"], read="postgres")
    lineage = LineageBuilder(deployment.catalog.table).build(
        qualify_statement(parsed, deployment.catalog)
    )
    result: dict[str, Any] = {"sql": case["sql"]}
    if "outputs" in case:
        result["outputs"] = {
            output.name: sorted(f"{f.source} ({f.kind.value})" for f in output.flows)
            for output in lineage.outputs
        }
    if "uses" in case:
        uses: dict[str, set[str]] = defaultdict(set)
        for use in lineage.uses:
            uses[str(use.source)].add(use.clause.value)
        result["uses"] = {source: sorted(clauses) for source, clauses in sorted(uses.items())}
    return result


def _decision(case: dict[str, Any], deployment: Any) -> dict[str, Any]:
    (decision,) = check(deployment, case["user"], case.get("purpose"), case["sql"])
    result = {key: case[key] for key in ("user", "purpose", "sql") if key in case}
    if type(decision).__name__ == "Allow":
        result["allow"] = decision.sql
    else:
        reject = {"sqlstate": decision.sqlstate, "message": decision.message}
        if decision.detail is not None:
            reject["detail"] = decision.detail
        result["reject"] = reject
    return result


def regenerate(name: str) -> None:
    path = GOLDEN / f"{name}.yaml"
    header = "".join(line for line in path.read_text().splitlines(keepends=True)
                     if line.startswith("#"))
    deployment = load_deployment(REPO / "catalog", REPO / "policies")
    compute = _lineage if name == "lineage" else _decision
    cases = [compute(case, deployment) for case in yaml.safe_load(path.read_text())]
    body = yaml.safe_dump(cases, sort_keys=False, width=100, allow_unicode=True)
    path.write_text(header + body)
    print(f"{path.relative_to(REPO)}: {len(cases)} cases regenerated")


if __name__ == "__main__":
    for target in sys.argv[1:] or ["lineage", "decisions"]:
        regenerate(target)
