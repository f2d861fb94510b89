"""Install and remove change capture in a PostgreSQL database.

    install(conn, "public", max_row_bytes=65536)   # idempotent, in one transaction
    uninstall(conn, "public")                      # triggers of that schema; all when last

What `install` creates (schema `mobo_realtime`):

- `mobo_realtime.outbox`: one row per captured row change (id bigserial, change_id uuid,
  source_schema, source_table, op, pk, new_row, old_row jsonb, too_large, commit_time).
- `mobo_realtime.capture()`: the trigger function, AFTER INSERT OR UPDATE OR DELETE FOR
  EACH ROW on every exposed table (trigger `mobo_realtime_capture`, arguments: the
  primary key's columns). It writes the outbox row and `pg_notify('mobo_realtime', id)`;
  a change over max_row_bytes keeps only its key (too_large). SECURITY DEFINER, so any
  role that may write the table can write the outbox, and never reads it.
- `mobo_realtime.attach(oid)`: (re)creates that trigger on one table when missing or
  when its primary key changed; skips MagFlock's own `mobo_*`/`_mobo_*` tables,
  partitions (their partitioned table carries it) and schemas not captured.
- `mobo_realtime.schemas`: the exposed schemas captured in this database.
- with a superuser only: event trigger `mobo_realtime_ddl` on ddl_command_end, attaching
  the trigger to tables created or altered later, in the same transaction as the DDL.

Every identifier is quoted (format('%I')); the only literal baked into SQL is the
validated max_row_bytes integer.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "mobo_realtime"
CHANNEL = "mobo_realtime"
TRIGGER = "mobo_realtime_capture"
EVENT_TRIGGER = "mobo_realtime_ddl"
LOCK_KEY = 0x6D6F626F7274  # pg_advisory_xact_lock key serialising installs ("mobort")

_SETUP = """
CREATE SCHEMA IF NOT EXISTS mobo_realtime;
REVOKE ALL ON SCHEMA mobo_realtime FROM PUBLIC;
CREATE TABLE IF NOT EXISTS mobo_realtime.outbox (
    id bigserial PRIMARY KEY,
    change_id uuid NOT NULL DEFAULT gen_random_uuid(),
    source_schema text NOT NULL,
    source_table text NOT NULL,
    op text NOT NULL,
    pk jsonb,
    new_row jsonb,
    old_row jsonb,
    too_large boolean NOT NULL DEFAULT false,
    commit_time timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS mobo_realtime.schemas (name text PRIMARY KEY);
"""

_CAPTURE = """
CREATE OR REPLACE FUNCTION mobo_realtime.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC' SET DateStyle = 'ISO' SET IntervalStyle = 'postgres'
AS $fn$
DECLARE
    new_row jsonb;
    old_row jsonb;
    key jsonb;
    col text;
    big boolean := false;
    outbox_id bigint;
BEGIN
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_NARGS > 0 THEN
        key := '{}'::jsonb;
        FOREACH col IN ARRAY TG_ARGV LOOP
            key := key || jsonb_build_object(col, coalesce(new_row, old_row) -> col);
        END LOOP;
    END IF;
    IF coalesce(octet_length(new_row::text), 0)
       + coalesce(octet_length(old_row::text), 0) > {max_row_bytes} THEN
        big := true;
        new_row := NULL;
        old_row := NULL;
    END IF;
    INSERT INTO mobo_realtime.outbox
        (source_schema, source_table, op, pk, new_row, old_row, too_large)
    VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, lower(TG_OP), key, new_row, old_row, big)
    RETURNING id INTO outbox_id;
    PERFORM pg_notify('mobo_realtime', outbox_id::text);
    RETURN NULL;
END
$fn$;
"""

_ATTACH = """
CREATE OR REPLACE FUNCTION mobo_realtime.attach(rel oid) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c record;
    cols text[];
    args text;
    have bytea;
BEGIN
    SELECT k.oid, k.relname, n.nspname INTO c
      FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
     WHERE k.oid = rel AND k.relkind IN ('r', 'p') AND NOT k.relispartition
       AND k.relname NOT LIKE 'mobo\\_%' AND k.relname NOT LIKE '\\_mobo\\_%'
       AND n.nspname IN (SELECT name FROM mobo_realtime.schemas);
    IF NOT FOUND THEN RETURN false; END IF;
    SELECT coalesce(array_agg(a.attname::text ORDER BY x.n), '{}') INTO cols
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS x(attnum, n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.attnum
     WHERE i.indrelid = rel AND i.indisprimary;
    SELECT t.tgargs INTO have FROM pg_trigger t WHERE t.tgrelid = rel AND t.tgname = {trigger};
    IF FOUND AND have = coalesce(
        (SELECT string_agg(convert_to(v, 'UTF8') || '\\x00'::bytea, ''::bytea ORDER BY o)
           FROM unnest(cols) WITH ORDINALITY AS u(v, o)), ''::bytea) THEN
        RETURN false;
    END IF;
    SELECT coalesce(string_agg(format('%L', v), ', '), '') INTO args FROM unnest(cols) AS v;
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I.%I', {trigger}, c.nspname, c.relname);
    EXECUTE format(
        'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I.%I '
        'FOR EACH ROW EXECUTE FUNCTION mobo_realtime.capture(%s)',
        {trigger}, c.nspname, c.relname, args);
    RETURN true;
END
$fn$;
"""

_ON_DDL = """
CREATE OR REPLACE FUNCTION mobo_realtime.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT object_type, objid FROM pg_event_trigger_ddl_commands()
              WHERE object_type IN ('table', 'table constraint', 'index')
    LOOP
        BEGIN
            PERFORM mobo_realtime.attach(CASE r.object_type
                WHEN 'table' THEN r.objid
                WHEN 'index' THEN (SELECT indrelid FROM pg_index WHERE indexrelid = r.objid)
                ELSE (SELECT conrelid FROM pg_constraint WHERE oid = r.objid) END);
        EXCEPTION WHEN OTHERS THEN
            -- change capture must never make a user's DDL fail
            RAISE WARNING 'mobo_realtime: could not attach the capture trigger: %', SQLERRM;
        END;
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION mobo_realtime.on_ddl() FROM PUBLIC;
"""

_ATTACH_ALL = """
SELECT k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
 WHERE n.nspname = %s AND k.relkind IN ('r', 'p') AND NOT k.relispartition
   AND k.relname NOT LIKE 'mobo\\_%%' AND k.relname NOT LIKE '\\_mobo\\_%%'
   AND mobo_realtime.attach(k.oid)
 ORDER BY 1
"""


def _sql_literal_name(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _function(template: str, **values: Any) -> str:
    return template.replace("{trigger}", _sql_literal_name(TRIGGER)).replace(
        "{max_row_bytes}", str(int(values.get("max_row_bytes", 0)))
    )


def is_superuser(conn: Any) -> bool:
    """Tell whether the connected role may create event triggers."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def install(conn: Any, schema: str, *, max_row_bytes: int) -> dict[str, Any]:
    """Create (or update) capture for one exposed schema, in one transaction.

    Returns what it did: {"attached": [tables], "event_trigger": bool}. `conn` is a
    psycopg connection; it may be in autocommit mode.
    """
    superuser = is_superuser(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(_SETUP)
        conn.execute(_function(_CAPTURE, max_row_bytes=max_row_bytes))
        conn.execute(_function(_ATTACH))
        conn.execute("REVOKE ALL ON FUNCTION mobo_realtime.attach(oid) FROM PUBLIC")
        conn.execute(
            "INSERT INTO mobo_realtime.schemas (name) VALUES (%s) ON CONFLICT DO NOTHING",
            (schema,),
        )
        if superuser:
            _install_event_trigger(conn)
        attached = attach_all(conn, schema)
    return {"attached": attached, "event_trigger": superuser}


def _install_event_trigger(conn: Any) -> None:
    conn.execute(_ON_DDL)
    found = conn.execute(
        "SELECT 1 FROM pg_event_trigger WHERE evtname = %s", (EVENT_TRIGGER,)
    ).fetchone()
    if found is None:
        conn.execute(
            "CREATE EVENT TRIGGER mobo_realtime_ddl ON ddl_command_end "
            "WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', "
            "'CREATE INDEX') EXECUTE FUNCTION mobo_realtime.on_ddl()"
        )


def attach_all(conn: Any, schema: str) -> list[str]:
    """Attach the trigger to every exposed table of `schema` lacking it (or with a stale
    key); return the names of the tables it (re)attached."""
    rows = conn.execute(_ATTACH_ALL, (schema,)).fetchall()
    return [row[0] for row in rows]


def installed(conn: Any) -> bool:
    """Tell whether this database has the capture schema."""
    row = conn.execute("SELECT to_regclass('mobo_realtime.outbox') IS NOT NULL").fetchone()
    return bool(row and row[0])


def uninstall(conn: Any, schema: str) -> list[str]:
    """Remove the triggers from `schema`'s tables; when no captured schema is left, drop
    the event trigger and `mobo_realtime` (with any rows not yet forwarded).

    Returns the tables whose trigger was removed."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        rows = conn.execute(
            "SELECT n.nspname, k.relname FROM pg_trigger t "
            "JOIN pg_class k ON k.oid = t.tgrelid JOIN pg_namespace n ON n.oid = k.relnamespace "
            "WHERE t.tgname = %s AND n.nspname = %s ORDER BY 2",
            (TRIGGER, schema),
        ).fetchall()
        for nspname, relname in rows:
            conn.execute(_drop_trigger_sql(nspname, relname))
        if not installed(conn):
            return [r[1] for r in rows]
        conn.execute("DELETE FROM mobo_realtime.schemas WHERE name = %s", (schema,))
        left = conn.execute("SELECT count(*) FROM mobo_realtime.schemas").fetchone()
        if left is not None and left[0] == 0:
            conn.execute("DROP EVENT TRIGGER IF EXISTS mobo_realtime_ddl")
            conn.execute("DROP SCHEMA mobo_realtime CASCADE")
    return [r[1] for r in rows]


def _drop_trigger_sql(schema: str, table: str) -> Any:
    from psycopg import sql

    return sql.SQL("DROP TRIGGER IF EXISTS {} ON {}.{}").format(
        sql.Identifier(TRIGGER), sql.Identifier(schema), sql.Identifier(table)
    )
