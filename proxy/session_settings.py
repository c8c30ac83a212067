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
        # SHOW purpose prints the purpose in force (which may come from elsewhere), and
        # SHOW purpose_source where it came from: statement, session, connection, default, none.
        Parameter("purpose", "", _any_text),
        Parameter("purpose_source", "none", None),
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
class _Frame:
    """Values when a transaction (savepoint None) or a savepoint began, to roll back to."""

    savepoint: str | None
    values: dict[str, str]
    session_values: dict[str, str]


@dataclass
class SessionSettings:
    """Current values for one session; `changed` collects ParameterStatus to report.

    Transactional as PostgreSQL's SET: `values` are in force, `session_values` are what SET
    (not SET LOCAL) established and what stays at COMMIT. A transaction and each of its
    savepoints push a frame; ROLLBACK (TO SAVEPOINT) restores the frame's values, RELEASE
    drops frames and keeps the values.
    """

    parameters: dict[str, Parameter]
    values: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    session_values: dict[str, str] = field(default_factory=dict)
    frames: list[_Frame] = field(default_factory=list)

    @classmethod
    def create(cls, server_version: str, user: str) -> SessionSettings:
        settings = cls(_parameters(server_version))
        settings.values = {key: p.default for key, p in settings.parameters.items()}
        settings.values["session_authorization"] = user
        settings.session_values = dict(settings.values)
        return settings

    def lookup(self, name: str) -> Parameter:
        parameter = self.parameters.get(name.lower())
        if parameter is None:
            raise _unrecognized(name)
        return parameter

    def get(self, name: str) -> str:
        return self.values[self.lookup(name).name.lower()]

    def set(self, name: str, value: str, local: bool = False) -> None:
        parameter = self.lookup(name)
        key = parameter.name.lower()
        if parameter.validate is None:
            if value == self.values[key]:
                return
            raise _read_only(parameter.name)
        new_value = parameter.validate(value)
        if not local:
            self.session_values[key] = new_value
        self._assign(key, new_value)

    def reset(self, name: str, local: bool = False) -> None:
        parameter = self.lookup(name)
        if parameter.validate is not None:
            self.set(parameter.name, parameter.default, local)

    def reset_all(self) -> None:
        for parameter in self.parameters.values():
            self.reset(parameter.name)

    def _assign(self, key: str, value: str) -> None:
        if self.values[key] != value:
            self.values[key] = value
            if self.parameters[key].reported:
                self.changed.append(self.parameters[key].name)

    def _restore(self, values: dict[str, str], session_values: dict[str, str]) -> None:
        for key, value in values.items():
            self._assign(key, value)
        self.session_values = dict(session_values)

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

    # --- transactions ------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return bool(self.frames)

    def begin(self) -> None:
        """The session is inside a transaction block: from here on, SET can be rolled back.

        Called before the first SET or SAVEPOINT of a transaction (nothing changed the values
        between its BEGIN and then)."""
        if not self.frames:
            self.frames.append(_Frame(None, dict(self.values), dict(self.session_values)))

    def savepoint(self, name: str) -> None:
        self.begin()
        self.frames.append(_Frame(name, dict(self.values), dict(self.session_values)))

    def _savepoint_index(self, name: str) -> int | None:
        for index in range(len(self.frames) - 1, 0, -1):
            if self.frames[index].savepoint == name:
                return index
        return None

    def rollback_to(self, name: str) -> None:
        """ROLLBACK TO SAVEPOINT succeeded: values as they were when it was set; it stays."""
        index = self._savepoint_index(name)
        if index is None:  # unknown here (the warehouse knew it): be safe, as at BEGIN
            index = 0
        frame = self.frames[index]
        del self.frames[index + 1 :]
        self._restore(frame.values, frame.session_values)

    def release(self, name: str) -> None:
        """RELEASE SAVEPOINT succeeded: it and later savepoints go, their values stay."""
        index = self._savepoint_index(name)
        if index is not None:
            del self.frames[index:]

    def end_transaction(self, committed: bool) -> None:
        """COMMIT keeps what SET established (SET LOCAL ends); ROLLBACK restores all."""
        if not self.frames:
            return
        frame = self.frames[0]
        self.frames.clear()
        if committed:
            self._restore(self.session_values, self.session_values)
        else:
            self._restore(frame.values, frame.session_values)


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

    RESET ALL gives (None, None). SET LOCAL is the same target (see `node.is_local`).
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


def apply_variable_set(
    settings: SessionSettings, node: ast.VariableSetStmt, in_transaction: bool
) -> tuple[str, PgError | None]:
    """Apply SET/RESET to the proxy's settings: (CommandComplete tag, warning to send).

    As in PostgreSQL, SET LOCAL outside a transaction block only warns, and inside one any SET
    can be rolled back."""
    name, value = variable_set_target(node)
    tag = "RESET" if node.kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_RESET_ALL) else "SET"
    local = bool(node.is_local)
    if name is not None:  # errors come first, even where SET LOCAL then does nothing
        parameter = settings.lookup(name)
        if value is not None and parameter.validate is not None:
            parameter.validate(value)
    if local and not in_transaction:
        return tag, PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                            "SET LOCAL can only be used in transaction blocks", severity="WARNING")
    if in_transaction:
        settings.begin()
    if name is None:
        settings.reset_all()
    elif value is None:
        settings.reset(name, local)
    else:
        settings.set(name, value, local)
    return tag, None


def show_value(
    settings: SessionSettings, node: ast.VariableShowStmt, purpose: tuple[str | None, str]
) -> tuple[str, str]:
    """(column name, value) of SHOW name; SHOW ALL is refused.

    `purpose` is the effective purpose and its source for the SHOW statement itself (the
    session's `purpose` setting is only one of its inputs)."""
    if node.name.lower() == "all":
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "SHOW ALL is not supported through purpose-proxy")
    parameter = settings.lookup(node.name)
    if parameter.name == "purpose":
        return parameter.name, purpose[0] or ""
    if parameter.name == "purpose_source":
        return parameter.name, purpose[1]
    return parameter.name, settings.values[parameter.name.lower()]
