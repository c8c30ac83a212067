"""Label names: dotted paths in a hierarchy (`pii.contact.email` sits under `pii.contact`).

Both the catalog (labels on columns) and the policies (rules on labels) speak this vocabulary,
so the syntax and the walk up the hierarchy live here, below both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator

LABEL_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"

_LABEL_RE = re.compile(LABEL_PATTERN)


def is_label_name(text: str) -> bool:
    return bool(_LABEL_RE.match(text))


def _check_label_name(text: str) -> str:
    if not is_label_name(text):
        raise ValueError(
            f"{text!r} is not a label name: lower-case words joined by dots, e.g. pii.contact.email"
        )
    return text


#: A label as written in YAML: lower-case words joined by dots.
LabelName = Annotated[str, AfterValidator(_check_label_name)]


def label_and_ancestors(label: str) -> Iterator[str]:
    """The label itself, then each coarser label, most specific first.

    `pii.contact.email` -> `pii.contact.email`, `pii.contact`, `pii`: the order in which a rule
    lookup tries them, so that the most specific rule wins.
    """
    parts = label.split(".")
    for end in range(len(parts), 0, -1):
        yield ".".join(parts[:end])


def with_ancestors(labels: Iterable[str]) -> frozenset[str]:
    """Declaring `pii.contact.email` declares `pii.contact` and `pii` too."""
    return frozenset(ancestor for label in labels for ancestor in label_and_ancestors(label))
