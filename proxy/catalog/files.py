"""The shape of a catalog file (`catalog/*.yaml`), as pydantic models.

One file describes one schema:

    schema: shop
    tables:
      customers:
        description: People who have an account.
        columns:
          id:    {type: integer, labels: [identifier.customer], primary_key: true}
          email: {type: text, labels: [pii.contact.email]}
          created_at: {type: timestamp, labels: []}   # annotated: not sensitive

`labels` is required on every column: `[]` is a decision someone made, never a default.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlglot import exp
from sqlglot.errors import ParseError

from proxy.catalog.labels import LabelName

#: A schema, table or column name as PostgreSQL stores it.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=63)]


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    labels: list[LabelName]
    primary_key: bool = False
    description: str | None = None

    @field_validator("type")
    @classmethod
    def _postgres_type(cls, value: str) -> str:
        """Parsed as PostgreSQL would read it, so a typo (`integr`) fails at load time."""
        try:
            exp.DataType.build(value, dialect="postgres")
        except (ParseError, ValueError):
            raise ValueError(f"not a PostgreSQL type: {value!r}") from None
        return value.strip().lower()

    @field_validator("labels")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a label is listed twice")
        return value


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    columns: dict[Identifier, ColumnSpec] = Field(min_length=1)
    # Recorded by the proxy for tables it created (see proxy/catalog/derivation.py).
    derived: dict[str, Any] | None = None


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Identifier = Field(alias="schema")
    description: str | None = None
    tables: dict[Identifier, TableSpec] = Field(default_factory=dict)
