"""The running configuration: catalog, policies and users, reloadable without a restart.

A reload that fails (broken YAML, a rule naming an undeclared label) is reported and the last
good configuration stays in force: a typo never opens or closes the warehouse by accident.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import structlog
import yaml

from proxy.catalog.derivation import from_document, to_document, unknown_origin
from proxy.catalog.load import read_catalog_file
from proxy.catalog.model import ColumnEntry, TableEntry
from proxy.config_files import ConfigError
from proxy.errors import PgError
from proxy.policy import load_deployment
from proxy.policy.model import Deployment
from proxy.settings import Settings

log = structlog.get_logger(__name__)


class DeploymentHolder:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._current = self._load()  # a broken configuration at start is fatal

    @property
    def _recorded_dir(self) -> Path:
        return self._settings.state_dir / "catalog"

    def _load(self) -> Deployment:
        settings = self._settings
        deployment = load_deployment(
            settings.catalog_dir, settings.policies_dir, settings.users_file
        )
        catalog = deployment.catalog
        for path in sorted(self._recorded_dir.glob("recorded-*.yaml")):
            recorded = read_catalog_file(path)
            for name, table in recorded.tables.items():
                if catalog.table(recorded.schema_, name) is None:
                    catalog = catalog.with_table(recorded.schema_, name, (
                        ColumnEntry(column_name, column.type, frozenset(column.labels),
                                    column.description)
                        for column_name, column in table.columns.items()
                    ), table.description,
                        from_document(table.derived) if table.derived is not None else unknown_origin())
        return replace(deployment, catalog=catalog)

    def __call__(self) -> Deployment:
        return self._current

    async def check_warehouse(self) -> None:
        """PostgreSQL warehouse: compare the catalog with the live warehouse and take the
        labels teams wrote in column COMMENTs (see proxy/catalog/comments.py).

        Findings (unannotated or vanished tables and columns, type drift) are logged; the
        unannotated stay unreadable. An unreachable warehouse keeps the catalog as it is.
        """
        if self._settings.backend != "postgres":
            return
        from proxy.catalog.introspect import (
            introspect,
            log_report,
            merge_comment_annotations,
        )

        deployment = self._current
        try:
            report = await introspect(self._settings, deployment.catalog)
        except (OSError, TimeoutError, PgError) as exc:
            log.error("warehouse introspection failed; catalog used as written", error=str(exc))
            return
        except Exception as exc:  # asyncpg's own errors (auth, missing database)
            log.error("warehouse introspection failed; catalog used as written", error=str(exc))
            return
        log_report(report)
        self._current = replace(
            deployment, catalog=merge_comment_annotations(deployment.catalog, report)
        )

    async def reload_with_warehouse(self) -> None:
        """SIGHUP: re-read the files, then re-check the warehouse."""
        if self.reload():
            await self.check_warehouse()

    def reload(self) -> bool:
        try:
            self._current = self._load()
        except (ConfigError, ValueError) as exc:
            # The problems one per line, as the message itself (a key=value field would
            # print them as one line with escaped newlines).
            log.error(f"configuration reload failed; keeping the last good one:\n{exc}")
            return False
        log.info("configuration reloaded")
        return True

    def record_table(self, table: TableEntry) -> None:
        """Govern a table created through the proxy by the labels of what flowed into it.

        Kept in state_dir/catalog/recorded-<schema>.yaml (the catalog file format), so a
        restart or a reload keeps governing it.
        """
        self._current = replace(
            self._current,
            catalog=self._current.catalog.with_table(
                table.schema, table.name, table.columns, table.description, table.derivation
            ),
        )
        documents: dict[str, dict[str, object]] = {}
        for entry in self._current.catalog:
            if entry.source is not None:  # from catalog/: the operator's, not ours
                continue
            document = documents.setdefault(entry.schema, {"schema": entry.schema, "tables": {}})
            document["tables"][entry.name] = {  # type: ignore[index]
                "description": entry.description,
                "columns": {
                    c.name: {"type": c.type or "text", "labels": sorted(c.labels)}
                    for c in entry.columns
                },
            }
            if entry.derivation is not None:
                document["tables"][entry.name]["derived"] = to_document(  # type: ignore[index]
                    entry.derivation)
        self._recorded_dir.mkdir(parents=True, exist_ok=True)
        for schema, document in documents.items():
            path = self._recorded_dir / f"recorded-{schema}.yaml"
            path.write_text(yaml.safe_dump(document, sort_keys=False))


def configured_mask_key(settings: Settings) -> str | None:
    """The hash mask's key as configured; None lets the warehouse supply it (the key it holds,
    or one generated once per deployment and stored there: never one per process).

    A state_dir/mask.key written by earlier versions counts as configured, so a deployment
    that has one keeps its hashes."""
    if settings.mask_key is not None:
        return settings.mask_key.get_secret_value()
    path: Path = settings.state_dir / "mask.key"
    return path.read_text().strip() if path.exists() else None
