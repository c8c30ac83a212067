"""Golden lineage: statement -> which catalog columns reach which output, and where each is read."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import sqlglot
import yaml

from proxy.policy import load_deployment
from proxy.sql.lineage import LineageBuilder
from proxy.sql.resolve import qualify_statement

REPO = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load((REPO / "tests" / "golden" / "lineage.yaml").read_text())


@pytest.fixture(scope="module")
def deployment():
    return load_deployment(REPO / "catalog", REPO / "policies")


@pytest.mark.parametrize("case", CASES, ids=[case["sql"][:60] for case in CASES])
def test_lineage(case, deployment):
    parsed = sqlglot.parse_one(case["sql"], read="postgres")
    lineage = LineageBuilder(deployment.catalog.table).build(
        qualify_statement(parsed, deployment.catalog)
    )
    if "outputs" in case:
        outputs = {
            output.name: sorted(f"{f.source} ({f.kind.value})" for f in output.flows)
            for output in lineage.outputs
        }
        assert outputs == {name: sorted(v) for name, v in case["outputs"].items()}
    if "uses" in case:
        uses: dict[str, set[str]] = defaultdict(set)
        for use in lineage.uses:
            uses[str(use.source)].add(use.clause.value)
        for source, clauses in case["uses"].items():
            assert uses[source] == set(clauses), source


def test_the_schema_cache_stays_bounded_across_catalog_versions(deployment):
    """Every reload and every recorded table makes a new catalog; the cache of their sqlglot
    schemas must not grow with them (it used to keep one entry per catalog ever seen)."""
    from proxy.catalog.model import Catalog
    from proxy.sql.resolve import SCHEMA_CACHE_SIZE, cached_schema_count, catalog_schema

    base = deployment.catalog
    versions = [Catalog.build(list(base), base.declared_labels, base.schemas) for _ in range(50)]
    for catalog in versions:
        schema = catalog_schema(catalog)
        assert catalog_schema(catalog) is schema  # still cached while in use
    assert cached_schema_count() <= SCHEMA_CACHE_SIZE
    del versions, catalog
    assert cached_schema_count() <= SCHEMA_CACHE_SIZE
