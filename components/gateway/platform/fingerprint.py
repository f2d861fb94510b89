"""A cheap version of a store's schema: it changes whenever DDL changes what introspection sees.

SQLite keeps one (`PRAGMA schema_version`); PostgreSQL gets an md5 over the catalog rows
of the exposed schema (relations, columns, constraints, indexes, functions); MySQL and
MariaDB a count and CRC sum over information_schema. Each costs one small query.
"""

from __future__ import annotations

from components.datastore import Adapter

SQLITE = "PRAGMA schema_version"

POSTGRES = """
SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) AS v FROM (
  SELECT concat_ws(':', c.oid, c.relname, c.relkind, a.attnum, a.attname, a.atttypid,
                   a.atttypmod, a.attnotnull, a.atthasdef, a.attidentity) AS x
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE n.nspname = %(ns)s AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  UNION ALL
  SELECT concat_ws(':', con.oid, con.conname, con.contype, con.conrelid, con.confrelid,
                   con.conkey::text, con.confkey::text)
  FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
  WHERE n.nspname = %(ns)s
  UNION ALL
  SELECT concat_ws(':', i.indexrelid, i.indrelid, i.indisunique, i.indkey::text)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %(ns)s
  UNION ALL
  SELECT concat_ws(':', p.oid, p.proname, p.prorettype, p.proargtypes::text, p.provolatile)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = %(ns)s
) s
"""

MYSQL = """
SELECT CONCAT(
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(':', TABLE_NAME, COLUMN_NAME,
          ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, EXTRA))), 0))
   FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()),
  '/',
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(':', CONSTRAINT_NAME, TABLE_NAME,
          COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME))), 0))
   FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE()),
  '/',
  (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(':', TABLE_NAME, TABLE_TYPE))), 0))
   FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE())
) AS v
"""


def fingerprint(adapter: Adapter) -> str:
    """Return the store's schema version as text; DatastoreError if it cannot be read."""
    if adapter.engine == "sqlite":
        rows = adapter.raw(SQLITE).rows
    elif adapter.engine == "postgres":
        rows = adapter.raw(POSTGRES, {"ns": getattr(adapter.settings, "schema", "public")}).rows
    elif adapter.engine == "mysql":
        rows = adapter.raw(MYSQL).rows
    else:
        return ""  # an engine without a version: only `mobo schema:reload` reloads it
    return str(next(iter(rows[0].values()))) if rows else ""
