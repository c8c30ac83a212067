"""`purpose-proxy check`: the decision core from the command line, exactly as the proxy decides."""

from __future__ import annotations

import json
from dataclasses import asdict

from proxy.policy.decide import DecisionContext, decide
from proxy.policy.decision import Allow, Decision
from proxy.policy.model import Deployment
from proxy.policy.purpose import DeclaredPurpose
from proxy.sql.statements import split_statements


def check(deployment: Deployment, user: str, purpose: str | None, sql: str) -> list[Decision]:
    entry = deployment.user(user)
    attributes = entry.attributes if entry is not None else {}
    context = DecisionContext(user, attributes, DeclaredPurpose(session=purpose))
    return [decide(statement, context, deployment) for statement in split_statements(sql)]


def as_json(decisions: list[Decision]) -> str:
    rows = []
    for decision in decisions:
        row: dict[str, object] = {"decision": "allow" if isinstance(decision, Allow) else "reject"}
        if isinstance(decision, Allow):
            row.update(sql=decision.sql, rewritten=decision.rewritten)
        else:
            row.update(sqlstate=decision.sqlstate, message=decision.message,
                       detail=decision.detail, hint=decision.hint)
        row["report"] = asdict(decision.report)
        rows.append(row)
    return json.dumps(rows, indent=2)


def as_text(decisions: list[Decision]) -> str:
    lines: list[str] = []
    for decision in decisions:
        report = decision.report
        if isinstance(decision, Allow):
            verdict = "ALLOW (rewritten)" if decision.rewritten else "ALLOW"
        else:
            verdict = f"REJECT {decision.sqlstate}"
        lines.append(f"decision: {verdict}")
        lines.append(f"purpose:  {report.purpose or '-'} ({report.purpose_source or 'none'})")
        if not isinstance(decision, Allow):
            lines.append(f"message:  {decision.message}")
            if decision.detail:
                lines.append(f"detail:   {decision.detail}")
            if decision.hint:
                lines.append(f"hint:     {decision.hint}")
        if report.lineage:
            lines.append("lineage:")
            for output, sources in report.lineage:
                lines.append(f"  {output} <- {', '.join(sources) or '(no catalog column)'}")
        if report.columns:
            lines.append("columns read:")
            for column in report.columns:
                labels = ", ".join(column.labels) or "(not sensitive)"
                shadow = f" [shadow: {column.shadow_action}]" if column.shadow_action else ""
                lines.append(f"  {column.column} [{labels}] -> {column.action}{shadow} "
                             f"in {', '.join(column.uses)}")
        for note in report.shadow:
            lines.append(f"shadow:   {note}")
        for rewrite in report.rewrites:
            lines.append(f"rewrite:  {rewrite}")
        if isinstance(decision, Allow) and decision.rewritten:
            lines.append(f"sql:      {decision.sql}")
        lines.append("")
    return "\n".join(lines)
