"""A view's tables under a prefix (a rebuild's fresh tables, or a test's own), made as copies of the live
tables, which only the schema migrations define (``app/schema/migrations``).

A copy has the live table's columns, defaults, constraints and storage parameters, and its indexes, each
index and constraint named as the live one with the prefix in front (which is what lets a rebuild's swap
rename them back). The unique indexes, which writes look rows up by, come with the table; the others serve
only reads, and a rebuild builds them once its tables are full, which is several times cheaper than keeping
them up to date row by row.
"""

from __future__ import annotations

import re

from psycopg import Cursor, sql
from psycopg.rows import DictRow

# An index as pg_get_indexdef gives it: CREATE [UNIQUE] INDEX name ON [ONLY] table USING method (...) [...]
INDEX_DEFINITION = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .+)$", re.DOTALL)
# The indexes that are not a constraint's (a primary key's, a unique constraint's): those come with the constraint.
INDEXES = """
SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS is_unique
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""
# Primary keys, unique and foreign keys: what LIKE ... INCLUDING ALL EXCLUDING INDEXES leaves out.
CONSTRAINTS = """
SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype DESC, conname
"""


def copy_table(cursor: Cursor[DictRow], live: str, copy: str, prefix: str, *, query_indexes: bool = True) -> None:
    """Makes the table ``copy`` like ``live``, unless it exists, with its unique indexes and, unless told not
    to, the others."""
    if cursor.execute("SELECT to_regclass(%s) AS oid", [copy]).fetchone() == {"oid": None}:
        cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(sql.Identifier(copy), sql.Identifier(live)))
        (options,) = cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [live]).fetchone().values()
        if options:  # the catalogue's own "name=value" text
            cursor.execute(sql.SQL("ALTER TABLE {} SET ({})").format(sql.Identifier(copy), sql.SQL(", ".join(options))))
        for constraint in cursor.execute(CONSTRAINTS, [live]).fetchall():
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(copy), sql.Identifier(prefix + constraint["name"]), sql.SQL(constraint["definition"])
                )
            )
    copy_indexes(cursor, live, copy, prefix, unique=True)
    if query_indexes:
        copy_indexes(cursor, live, copy, prefix, unique=False)


def copy_indexes(cursor: Cursor[DictRow], live: str, copy: str, prefix: str, *, unique: bool) -> None:
    """Gives ``copy`` the unique indexes of ``live`` (or the others) it does not have yet."""
    for index in cursor.execute(INDEXES, [live]).fetchall():
        if index["is_unique"] != unique:
            continue
        match = INDEX_DEFINITION.match(index["definition"])
        if match is None:
            raise ValueError(f"unexpected definition of the index {index['name']}: {index['definition']}")
        cursor.execute(
            sql.SQL("CREATE {}INDEX IF NOT EXISTS {} ON {} {}").format(
                sql.SQL(match.group(1) or ""), sql.Identifier(prefix + index["name"]), sql.Identifier(copy), sql.SQL(match.group(2))
            )
        )
