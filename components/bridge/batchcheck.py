"""Verify each batch on a PostgreSQL target, in the transaction that writes it.

Right after a batch's COPY, and before its checkpoint is committed, PostgreSQL spells the
target rows in the batch's key range (after the previous batch's last key, up to this
batch's last key) canonically, as COPY text (`pgsum.copy_text_sql`): for a batch sent as
the canonical text itself (`stream.Converters.prepared`, "fused") it must equal what was
sent, byte for byte — every value of every row read back as sent, in the same order,
which implies the same row count and checksum (times and timestamps are first read back
unpadded, `pgsum.spelling`, until a batch has fractions of a second). Otherwise (a batch
with escapes, rows scanned in another order, or text that differs) PostgreSQL computes
the row count and checksum of the range (`pgsum.py`), which must equal the batch's own,
computed from the source rows. A mismatch rolls the batch back and stops the copy. The
server's share of the verification then runs while the workers convert the next
batches, instead of in one query over the whole table at the end, and costs less (no
MD5 per row when the text matches).

Only where the ranges select the same rows on both sides: PostgreSQL targets whose every
column `pgsum` can spell, in a UTF-8 database, with integer keys (text keys may sort
differently in the target's collation). Elsewhere the copy verifies the whole table at
the end, as before.
"""

from __future__ import annotations

from typing import Any

from components.datastore.schema import Kind
from mobo.exceptions import VerificationFailed

from .checksum import Checksum
from .keys import show_key
from .pgsum import batch_checksum, checksum_sql, copy_text, copy_text_sql, utf8
from .plan import Plan
from .refusals import key_text
from .stream import Side

Key = tuple[object, ...]
KEY_KINDS = (Kind.INTEGER,)  # ordered the same way by every engine
TARGET_KEY_KINDS = (Kind.INTEGER, Kind.DECIMAL)


class BatchCheck:
    """The per-batch verification of one copy into PostgreSQL."""

    def __init__(
        self, plan: Plan, target: Side, name: str, sql: dict[bool, tuple[str, str, str]]
    ) -> None:
        self.plan, self.target, self.name = plan, target, name
        # a range's text queries (unpadded, padded) and checksum query: from the start, or
        # after a key
        self._sql = sql
        # the unpadded text first, while batches have no fractions of a second (none, or
        # no time or timestamp column: then the padded text is the same query)
        self.unpadded = sql[False][0] != sql[False][1]
        self.by_text = self.by_checksum = 0  # batches verified each way

    @classmethod
    def of(cls, plan: Plan, target: Side, name: str) -> BatchCheck | None:
        """Return the check for a copy, or None where batches cannot be verified alone."""
        if target.adapter.engine != "postgres" or not _integer_keys(plan):
            return None
        driver, table = target.driver, target.driver.table(target.table)
        sql = {}
        for after in (False, True):
            where = driver.range_where(plan.key, after=after, upto=True)
            text = copy_text_sql(table, plan.columns, driver.quote, where)
            plain = copy_text_sql(table, plan.columns, driver.quote, where, padded=False)
            summed = checksum_sql(table, plan.columns, driver.quote, where)
            if text is None or plain is None or summed is None:
                return None
            sql[after] = (plain, text, summed)
        with target.adapter.transaction() as tx:
            if not utf8(tx.connection):
                return None
        return cls(plan, target, name, sql)

    def verify(
        self, conn: Any, after: Key | None, last: Key, copied: Checksum, sent: object
    ) -> None:
        """Compare the target rows after `after` up to `last` with the batch (`copied`,
        `sent` as COPY text or columns), in the caller's (the batch's) transaction; raise
        VerificationFailed if they differ."""
        driver = self.target.driver
        params = [*(driver.after_params(after) if after is not None else ()),
                  *driver.upto_params(last)]  # fmt: skip
        plain, text, summed = self._sql[after is not None]
        if isinstance(sent, bytes) and sent.endswith(b"\n"):
            for query in (plain, text) if self.unpadded else (text,):
                if _sent(copy_text(conn, query, params), sent):
                    self.by_text += 1
                    return
                self.unpadded = False  # fractions of seconds (or a difference): pad from now on
        seen = batch_checksum(conn, summed, params)
        if seen == copied:
            self.by_checksum += 1
            return
        since = "the start" if after is None else key_text(show_key(self.plan.key, after))
        raise VerificationFailed(
            f"{self.name}: the batch of rows after {since} up to "
            f"{key_text(show_key(self.plan.key, last))} does not match the source: copied "
            f"{copied.rows} rows (checksum {copied.hex}), the target holds {seen.rows} "
            f"(checksum {seen.hex}); the batch was rolled back",
            hint="the target changes what it stores (a trigger, a rule, a column default "
            "type?); otherwise report this as a MagBridge bug",
        )


def _sent(found: bytes | None, sent: bytes) -> bool:
    """Tell whether `found` is the COPY text `sent` without its last newline (compared in
    place: no copy of the batch's text)."""
    return found is not None and len(found) == len(sent) - 1 and sent.startswith(found)


def _integer_keys(plan: Plan) -> bool:
    columns = {c.name: c for c in plan.columns}
    return all(
        columns[k].source.kind in KEY_KINDS and columns[k].target.kind in TARGET_KEY_KINDS
        for k in plan.key
    )
