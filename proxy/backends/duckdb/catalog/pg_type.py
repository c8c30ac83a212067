"""The compat catalog's pg_type: PostgreSQL's built-in types, with PostgreSQL's OIDs.

Constant rows (DuckDB has no user-defined types the catalog would list): each base type and
its array type, plus the display names format_type() prints.
"""

from __future__ import annotations

from proxy.backends.duckdb.catalog.constants import OWNER_OID, PG_CATALOG_OID

# oid, typname, display name (format_type), typlen, typbyval, category, array oid, preferred
_BASE_TYPES: list[tuple[int, str, str, int, bool, str, int, bool]] = [
    (16, "bool", "boolean", 1, True, "B", 1000, True),
    (17, "bytea", "bytea", -1, False, "U", 1001, False),
    (18, "char", '"char"', 1, True, "Z", 1002, False),
    (19, "name", "name", 64, False, "S", 1003, False),
    (20, "int8", "bigint", 8, True, "N", 1016, False),
    (21, "int2", "smallint", 2, True, "N", 1005, False),
    (22, "int2vector", "int2vector", -1, False, "A", 1006, False),
    (23, "int4", "integer", 4, True, "N", 1007, False),
    (24, "regproc", "regproc", 4, True, "N", 1008, False),
    (25, "text", "text", -1, False, "S", 1009, True),
    (26, "oid", "oid", 4, True, "N", 1028, True),
    (27, "tid", "tid", 6, False, "U", 1010, False),
    (28, "xid", "xid", 4, True, "U", 1011, False),
    (29, "cid", "cid", 4, True, "U", 1012, False),
    (30, "oidvector", "oidvector", -1, False, "A", 1013, False),
    (114, "json", "json", -1, False, "U", 199, False),
    (142, "xml", "xml", -1, False, "U", 143, False),
    (194, "pg_node_tree", "pg_node_tree", -1, False, "Z", 0, False),
    (650, "cidr", "cidr", -1, False, "I", 651, False),
    (700, "float4", "real", 4, True, "N", 1021, False),
    (701, "float8", "double precision", 8, True, "N", 1022, True),
    (705, "unknown", "unknown", -2, False, "X", 0, False),
    (790, "money", "money", 8, True, "N", 791, False),
    (829, "macaddr", "macaddr", 6, False, "U", 1040, False),
    (869, "inet", "inet", -1, False, "I", 1041, True),
    (1033, "aclitem", "aclitem", 12, False, "U", 1034, False),
    (1042, "bpchar", "character", -1, False, "S", 1014, False),
    (1043, "varchar", "character varying", -1, False, "S", 1015, False),
    (1082, "date", "date", 4, True, "D", 1182, False),
    (1083, "time", "time without time zone", 8, True, "D", 1183, False),
    (1114, "timestamp", "timestamp without time zone", 8, True, "D", 1115, False),
    (1184, "timestamptz", "timestamp with time zone", 8, True, "D", 1185, True),
    (1186, "interval", "interval", 16, False, "T", 1187, True),
    (1266, "timetz", "time with time zone", 12, False, "D", 1270, False),
    (1560, "bit", "bit", -1, False, "V", 1561, False),
    (1562, "varbit", "bit varying", -1, False, "V", 1563, True),
    (1700, "numeric", "numeric", -1, False, "N", 1231, False),
    (1790, "refcursor", "refcursor", -1, False, "U", 2201, False),
    (2202, "regprocedure", "regprocedure", 4, True, "N", 2207, False),
    (2203, "regoper", "regoper", 4, True, "N", 2208, False),
    (2204, "regoperator", "regoperator", 4, True, "N", 2209, False),
    (2205, "regclass", "regclass", 4, True, "N", 2210, False),
    (2206, "regtype", "regtype", 4, True, "N", 2211, False),
    (2249, "record", "record", -1, False, "P", 2287, False),
    (2275, "cstring", "cstring", -2, False, "P", 1263, False),
    (2276, "any", '"any"', 4, True, "P", 0, False),
    (2277, "anyarray", "anyarray", -1, False, "P", 0, False),
    (2278, "void", "void", 4, True, "P", 0, False),
    (2283, "anyelement", "anyelement", 4, True, "P", 0, False),
    (2950, "uuid", "uuid", 16, False, "U", 2951, False),
    (3802, "jsonb", "jsonb", -1, False, "U", 3807, False),
    (4072, "jsonpath", "jsonpath", -1, False, "U", 4073, False),
    (4089, "regnamespace", "regnamespace", 4, True, "N", 4090, False),
    (4096, "regrole", "regrole", 4, True, "N", 4097, False),
]

_TEXT_LIKE = {18, 19, 25, 1042, 1043}


def pg_type_rows() -> list[tuple[object, ...]]:
    """pg_type's rows, in the column order of the pg_type view."""
    rows: list[tuple[object, ...]] = []
    for oid, name, _display, length, byval, category, array_oid, preferred in _BASE_TYPES:
        collation = 100 if oid in _TEXT_LIKE else 0
        align = "d" if length == 8 else ("s" if length == 2 else ("c" if length == 1 else "i"))
        storage = "x" if length == -1 else "p"
        ttype = "p" if category == "P" else "b"
        elem = 21 if oid == 22 else (26 if oid == 30 else 0)
        rows.append((oid, name, PG_CATALOG_OID, OWNER_OID, length, byval, ttype, category, preferred,
                     True, ",", 0, elem, array_oid, f"{name}in", f"{name}out", f"{name}recv",
                     f"{name}send", align, storage, False, 0, -1, 0, collation))
        if array_oid:
            rows.append((array_oid, f"_{name}", PG_CATALOG_OID, OWNER_OID, -1, False, "b", "A", False,
                         True, ",", 0, oid, 0, "array_in", "array_out", "array_recv", "array_send",
                         "d" if length == 8 else "i", "x", False, 0, -1, 0, collation))
    return rows


def type_display_rows() -> list[tuple[object, ...]]:
    """(OID, name format_type() prints) of every type, arrays included."""
    rows: list[tuple[object, ...]] = []
    for oid, _name, display, _length, _byval, _category, array_oid, _preferred in _BASE_TYPES:
        rows.append((oid, display))
        if array_oid:
            rows.append((array_oid, display + "[]"))
    return rows



#: typtype of every pg_type row the compat catalog has (no composite, domain, enum or range types).
PG_TYPE_TYPTYPES = frozenset(str(row[6]) for row in pg_type_rows())
