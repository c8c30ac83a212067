"""Labels written where data is born: a `labels:` segment in a PostgreSQL column COMMENT.

Teams that own a table can annotate it in the warehouse itself, next to the DDL that creates
the column, instead of (or before) a pull request to `catalog/*.yaml`:

    COMMENT ON COLUMN shop.customers.email IS 'Contact address. labels: pii.contact.email';
    COMMENT ON COLUMN shop.customers.phone IS 'labels: pii.contact.phone, pii';
    COMMENT ON COLUMN shop.orders.status IS 'Order state machine.
    labels: none';

The syntax:

- The annotation is the keyword `labels` (any case), optional spaces, a colon, then the labels
  up to the end of that line. Everything else in the comment is description.
- The keyword counts only where a sentence or a line starts: at the start of the comment, at
  the start of a line, or after `.`, `;`, `!`, `?` or `|` and a space. So `Contact address.
  labels: x` is an annotation, while `the relabels: x` or `shipping labels: printed` in prose
  is not, and a comment that merely mentions labels never becomes one by accident.
- Several labels are separated by commas. Each is a label name as in `policies/labels.yaml`:
  lower-case words joined by dots (`pii.contact.email`). Names are not case-folded: a label
  that is not written exactly as declared is an error, not a near match.
- `labels: none` means "annotated as not sensitive" (YAML's `labels: []`). It stands alone.
- No `labels:` segment at all means "no annotation": the column is unannotated, and no purpose
  may read it until someone labels it.

A malformed annotation (an empty list, an invalid name, a label listed twice, `none` next to
a label, two `labels:` segments) raises `CommentSyntaxError`. The caller reports it, and the
column stays unannotated: a typo must never make a column readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.catalog.labels import is_label_name

#: `labels:` where a sentence or a line starts; group `list` is the rest of that line.
_ANNOTATION = re.compile(
    r"(?:^|(?<=[.;!?|])[ \t]+)[ \t]*labels[ \t]*:(?P<list>[^\r\n]*)",
    re.IGNORECASE | re.MULTILINE,
)

NOT_SENSITIVE = "none"


class CommentSyntaxError(ValueError):
    """A comment carries a `labels:` segment that cannot be read as labels."""


@dataclass(frozen=True, slots=True)
class CommentAnnotation:
    """What a column comment says: its labels (empty: not sensitive) and the rest of the text."""

    labels: frozenset[str]
    description: str | None


def parse_comment(text: str | None) -> CommentAnnotation | None:
    """The annotation in a column comment; None when it carries none (or there is no comment)."""
    if text is None:
        return None
    matches = list(_ANNOTATION.finditer(text))
    if not matches:
        return None
    if len(matches) > 1:
        raise CommentSyntaxError(
            f"{len(matches)} 'labels:' segments; write one, with the labels comma-separated"
        )
    match = matches[0]
    labels = _label_list(match.group("list"))
    description = (text[: match.start()] + text[match.end() :]).strip()
    description = re.sub(r"[ \t]*\n(?:[ \t]*\n)+", "\n", description)  # the line it left
    return CommentAnnotation(labels, description or None)


def labels_from_comment(text: str | None) -> frozenset[str] | None:
    """The labels a column comment declares: a set (empty: not sensitive), or None (no
    annotation). Raises `CommentSyntaxError` for a malformed annotation."""
    annotation = parse_comment(text)
    return None if annotation is None else annotation.labels


def _label_list(text: str) -> frozenset[str]:
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise CommentSyntaxError(
            "'labels:' with nothing after it; list labels, or write 'labels: none' for "
            "'not sensitive'"
        )
    if any(item == "" for item in items):
        raise CommentSyntaxError(f"empty label in {text.strip()!r}")
    if NOT_SENSITIVE in (item.lower() for item in items):
        if len(items) > 1:
            raise CommentSyntaxError("'none' (not sensitive) cannot be combined with labels")
        return frozenset()
    invalid = [item for item in items if not is_label_name(item)]
    if invalid:
        raise CommentSyntaxError(
            f"not a label name: {', '.join(repr(item) for item in invalid)} (label names are "
            "lower-case words joined by dots, e.g. pii.contact.email; separate labels by commas)"
        )
    if len(set(items)) != len(items):
        raise CommentSyntaxError(f"a label is listed twice in {text.strip()!r}")
    return frozenset(items)
