"""Masked at rest: a masked value is masked once, and a value someone chose is never masked.

A purpose that reads a label masked writes it masked: the source query of a write is rewritten
like any read, so governed values arrive in the derived column already masked, and the column
records how its writer saw each label (`written_as`). A reader who sees every label of the
column the same way (or raw) reads the column as stored: no second mask, so a keyed hash is
never applied to a literal, a parameter or a COPY row the writer put next to the governed
values (the dictionary oracle: write guesses, read them back hashed, join with the hashed
originals). A masking reader who sees the column differently gets the mask only when no value
in it was chosen by a user; otherwise the read is refused.

Writes keep the invariant: a purpose writes into a column only if it sees the column's labels
the way the column was written (raw into raw, hash into hash...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from proxy.catalog.derivation import RAW, DerivedColumn, masked_view
from proxy.policy.model import Action, Policies


def label_view(policies: Policies, purpose: str, label: str) -> str:
    """How the purpose sees one label's values: `raw`, or `mask:<method>`."""
    rule = policies.column_action(purpose, {label}).enforced
    if rule.action is Action.MASK and rule.method is not None:
        return masked_view(rule.method.value)
    return RAW


def views(policies: Policies, purpose: str, labels: Iterable[str]) -> Mapping[str, str]:
    return {label: label_view(policies, purpose, label) for label in sorted(labels)}


def readable_as_stored(
    policies: Policies, purpose: str, labels: Iterable[str], column: DerivedColumn
) -> bool:
    """The stored values show the reader no more than its own rules would: every label is
    either raw for the reader, or masked the same way it was masked on the way in."""
    for label in labels:
        rule = policies.column_action(purpose, {label}).enforced
        if rule.action is Action.ALLOW:
            continue
        if rule.action is not Action.MASK or rule.method is None:
            return False
        if column.written_as.get(label) != masked_view(rule.method.value):
            return False
    return True
