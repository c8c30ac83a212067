"""Run-time parameters (GUCs) the proxy owns for each session: SET, RESET, SHOW and reporting.

The proxy answers these itself instead of forwarding them, because they change how the proxy
encodes results (TimeZone, DateStyle) or how SQL is lexed (standard_conforming_strings,
client_encoding), and the analyzer must never disagree with the warehouse about either.
A parameter not listed here is refused (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pglast import ast
from pglast.enums import VariableSetKind

from proxy.errors import PgError, SqlState

Validator = Callable[[str], str]


def _invalid(name: str, value: str, hint: str | None = None) -> PgError:
    return PgError(
        SqlState.INVALID_PARAMETER_VALUE,
        f'invalid value for parameter "{name}": "{value}"',
        hint=hint,
    )


def _fixed(name: str, allowed: tuple[str, ...], canonical: str) -> Validator:
    def validate(value: str) -> str:
        # asyncpg sends client_encoding as 'utf-8', quotes included; PostgreSQL accepts it.
        if value.strip("'").lower() not in allowed:
            raise PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                f'parameter "{name}" cannot be changed to "{value}" through purpose-proxy',
                hint=f"Only {canonical} is supported: the proxy's SQL analysis relies on it.",
            )
        return canonical

    return validate


def _timezone(value: str) -> str:
    if value.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid("TimeZone", value, "Use an IANA time zone name such as Europe/Berlin.")
    return value


def _datestyle(value: str) -> str:
    parts = [part.strip().upper() for part in value.split(",") if part.strip()]
    order = next((p for p in parts if p in ("MDY", "DMY", "YMD", "US", "EURO")), "MDY")
    if any(p not in ("ISO", "MDY", "DMY", "YMD", "US", "EURO", "NONEURO") for p in parts):
        raise _fixed("DateStyle", (), "ISO output")(value)
    return f"ISO, {order}"


def _integer(name: str, low: int, high: int) -> Validator:
    def validate(value: str) -> str:
        try:
            number = int(value)
        except ValueError:
            raise _invalid(name, value) from None
        if not low <= number <= high:
            raise PgError(
                SqlState.INVALID_PARAMETER_VALUE,
                f"{number} is outside the valid range for parameter \"{name}\" ({low} .. {high})",
            )
        return str(number)

    return validate


_DURATION_UNITS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str) -> int:
    """Milliseconds of a duration as SHOW prints it ('0', '200ms', '5s', '2min')."""
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    return int(digits) * _DURATION_UNITS[text[len(digits):] or "ms"]


def _duration_text(milliseconds: int) -> str:
    """PostgreSQL's display: the largest unit that divides the value exactly."""
    if milliseconds == 0:
        return "0"
    for unit in ("d", "h", "min", "s"):
        if milliseconds % _DURATION_UNITS[unit] == 0:
            return f"{milliseconds // _DURATION_UNITS[unit]}{unit}"
    return f"{milliseconds}ms"


def _duration_ms(name: str) -> Validator:
    def validate(value: str) -> str:
        text = value.strip().lower()
        digits = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
        unit = text[len(digits):].strip() or "ms"
        if not digits.isdigit() or unit not in _DURATION_UNITS:
            raise _invalid(name, value, 'Valid units: "ms", "s", "min", "h", "d".')
        return _duration_text(int(digits) * _DURATION_UNITS[unit])

    return validate


def _any_text(value: str) -> str:
    return value


def _choice(name: str, *choices: str) -> Validator:
    def validate(value: str) -> str:
        if value.lower() not in choices:
            raise _invalid(name, value, "Available values: " + ", ".join(choices) + ".")
        return value.lower()

    return validate


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str  # canonical spelling, as SHOW and ParameterStatus print it
    default: str
    validate: Validator | None  # None: read-only
    reported: bool = False  # sent as ParameterStatus at startup and on change


def _parameters(server_version: str) -> dict[str, Parameter]:
    utf8 = _fixed("client_encoding", ("utf8", "utf-8", "unicode"), "UTF8")
    listed = [
        Parameter("server_version", server_version, None, reported=True),
        Parameter("server_encoding", "UTF8", None, reported=True),
        Parameter("client_encoding", "UTF8", utf8, reported=True),
        Parameter("DateStyle", "ISO, MDY", _datestyle, reported=True),
        Parameter("TimeZone", "UTC", _timezone, reported=True),
        Parameter("integer_datetimes", "on", None, reported=True),
        Parameter("IntervalStyle", "postgres", _fixed("IntervalStyle", ("postgres",), "postgres"),
                  reported=True),
        Parameter(
            "standard_conforming_strings", "on",
            _fixed("standard_conforming_strings", ("on", "true", "1"), "on"), reported=True,
        ),
        Parameter("is_superuser", "off", None, reported=True),
        Parameter("application_name", "", _any_text, reported=True),
        # The purpose the session declared (SET purpose); granted-ness is the gate's check.
        Parameter("purpose", "", _any_text),
        Parameter("session_authorization", "", None, reported=True),
        Parameter("default_transaction_read_only", "off", None, reported=True),
        Parameter("in_hot_standby", "off", None, reported=True),
        Parameter("extra_float_digits", "1", _integer("extra_float_digits", -15, 3)),
        Parameter("statement_timeout", "0", _duration_ms("statement_timeout")),
        Parameter("lock_timeout", "0", _duration_ms("lock_timeout")),
        Parameter("idle_in_transaction_session_timeout", "0",
                  _duration_ms("idle_in_transaction_session_timeout")),
        Parameter("client_min_messages", "notice", _choice(
            "client_min_messages", "debug5", "debug4", "debug3", "debug2", "debug1", "log",
            "notice", "warning", "error")),
        Parameter("search_path", '"$user", public', None),
        Parameter("role", "none", None),
        Parameter("transaction_isolation", "read committed", None),
        Parameter("default_transaction_isolation", "read committed", None),
        Parameter("transaction_read_only", "off", None),
        Parameter("max_identifier_length", "63", None),
        Parameter("server_version_num", _version_num(server_version), None),
        Parameter("bytea_output", "hex", _fixed("bytea_output", ("hex",), "hex")),
        Parameter("lc_messages", "C", None),
        Parameter("lc_monetary", "C", None),
    ]
    return {parameter.name.lower(): parameter for parameter in listed}


def _version_num(version: str) -> str:
    major, _, minor = version.partition(".")
    return f"{int(major):d}{int(minor or 0):04d}"


def _unrecognized(name: str) -> PgError:
    return PgError(SqlState.UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"')


def _read_only(name: str) -> PgError:
    return PgError(
        SqlState.FEATURE_NOT_SUPPORTED,
        f'parameter "{name}" cannot be changed through purpose-proxy',
    )


@dataclass
class SessionSettings:
    """Current values for one session; `changed` collects ParameterStatus to report."""

    parameters: dict[str, Parameter]
    values: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, server_version: str, user: str) -> SessionSettings:
        settings = cls(_parameters(server_version))
        settings.values = {key: p.default for key, p in settings.parameters.items()}
        settings.values["session_authorization"] = user
        return settings

    def lookup(self, name: str) -> Parameter:
        parameter = self.parameters.get(name.lower())
        if parameter is None:
            raise _unrecognized(name)
        return parameter

    def get(self, name: str) -> str:
        return self.values[self.lookup(name).name.lower()]

    def set(self, name: str, value: str) -> None:
        parameter = self.lookup(name)
        if parameter.validate is None:
            if value == self.values[parameter.name.lower()]:
                return
            raise _read_only(parameter.name)
        new_value = parameter.validate(value)
        key = parameter.name.lower()
        if self.values[key] != new_value:
            self.values[key] = new_value
            if parameter.reported:
                self.changed.append(parameter.name)

    def reset(self, name: str) -> None:
        parameter = self.lookup(name)
        if parameter.validate is not None:
            self.set(parameter.name, parameter.default)

    def reset_all(self) -> None:
        for parameter in self.parameters.values():
            self.reset(parameter.name)

    def reported(self) -> list[tuple[str, str]]:
        return [(p.name, self.values[key]) for key, p in self.parameters.items() if p.reported]

    def take_changes(self) -> list[tuple[str, str]]:
        changes = [(name, self.get(name)) for name in dict.fromkeys(self.changed)]
        self.changed.clear()
        return changes

    @property
    def timezone(self) -> str:
        return self.values["timezone"]

    @property
    def statement_timeout_ms(self) -> int:
        return duration_ms(self.values["statement_timeout"])

    def snapshot(self) -> dict[str, str]:
        return dict(self.values)

    def restore(self, snapshot: dict[str, str]) -> None:
        """Undo SETs of a rolled-back transaction, reporting what changes back."""
        for key, value in snapshot.items():
            if self.values.get(key) != value:
                self.values[key] = value
                if self.parameters[key].reported:
                    self.changed.append(self.parameters[key].name)


# --- SET / RESET / SHOW statements (pglast trees) ------------------------------------------------


def _constant_text(node: ast.Node) -> str:
    if isinstance(node, ast.A_Const):
        value = node.val
        for attribute in ("sval", "ival", "fval", "boolval"):
            if hasattr(value, attribute):
                raw = getattr(value, attribute)
                if isinstance(raw, bool):
                    return "on" if raw else "off"
                return str(raw)
    if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const):
        return _constant_text(node.arg)
    raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "SET accepts only constant values here")


_SPECIAL_NAMES = {"timezone": "TimeZone", "datestyle": "DateStyle"}


def variable_set_target(node: ast.VariableSetStmt) -> tuple[str | None, str | None]:
    """(parameter, new value) of a SET/RESET; value None means back to the default.

    RESET ALL gives (None, None).
    """
    kind = node.kind
    if kind == VariableSetKind.VAR_RESET_ALL:
        return None, None
    if kind == VariableSetKind.VAR_SET_MULTI:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"SET {node.name} is not supported through purpose-proxy",
        )
    name = _SPECIAL_NAMES.get(node.name, node.name)
    if kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT):
        return name, None
    if node.is_local:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "SET LOCAL is not supported through purpose-proxy")
    if kind != VariableSetKind.VAR_SET_VALUE or not node.args:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"SET {name} form is not supported")
    return name, ", ".join(_constant_text(arg) for arg in node.args)


def purpose_set_by(node: ast.Node) -> str | None:
    """What a statement sets `purpose` to: None if it does not touch it, '' for RESET."""
    if not isinstance(node, ast.VariableSetStmt):
        return None
    name, value = variable_set_target(node)
    if name is None:
        return ""  # RESET ALL
    if name.lower() != "purpose":
        return None
    return value or ""


def apply_variable_set(settings: SessionSettings, node: ast.VariableSetStmt) -> str:
    """Apply SET/RESET to the proxy's settings; returns the CommandComplete tag."""
    name, value = variable_set_target(node)
    if name is None:
        settings.reset_all()
    elif value is None:
        settings.reset(name)
    else:
        settings.set(name, value)
    return "RESET" if node.kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_RESET_ALL) else "SET"


def show_value(settings: SessionSettings, node: ast.VariableShowStmt) -> tuple[str, str]:
    """(column name, value) of SHOW name; SHOW ALL is refused."""
    if node.name.lower() == "all":
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "SHOW ALL is not supported through purpose-proxy")
    parameter = settings.lookup(node.name)
    return parameter.name, settings.values[parameter.name.lower()]
