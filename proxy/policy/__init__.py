"""Purpose policies: what each purpose may do with each label, row filters, writes, grants."""

from proxy.policy.load import load_deployment, load_policies
from proxy.policy.model import (
    Action,
    ColumnAction,
    Deployment,
    MaskMethod,
    MissingAttributeError,
    Mode,
    Policies,
    Purpose,
    Rule,
    UnknownPurposeError,
    WriteKind,
    render_row_filter,
)

__all__ = [
    "Action",
    "ColumnAction",
    "Deployment",
    "MaskMethod",
    "MissingAttributeError",
    "Mode",
    "Policies",
    "Purpose",
    "Rule",
    "UnknownPurposeError",
    "WriteKind",
    "load_deployment",
    "load_policies",
    "render_row_filter",
]
