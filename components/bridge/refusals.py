"""The errors that name a row: a value the target cannot hold, a row that reads back wrong."""

from __future__ import annotations

from mobo.exceptions import UnrepresentableValue, VerificationFailed

from .convert import BadValue, Refused
from .drivers import Failure, Row
from .keys import show_key
from .plan import Plan
from .stream import Side

RESUME_HINT = (
    "fix the source value (or widen the target column), then run the same copy again: "
    "it resumes after the last copied row"
)


def refused(plan: Plan, source: Side, target: str, row: Row, exc: BadValue) -> UnrepresentableValue:
    """Return the error for a value a conversion refused (`target` is `store.table`)."""
    why: Refused = exc.refused
    column = plan.names[exc.column or 0]
    return unrepresentable(plan, source, target, row, column, why.code, why.reason, why.hint)


def write_refused(
    plan: Plan, source: Side, target: str, rows: list[Row], failure: Failure
) -> UnrepresentableValue:
    """Return the error for a row the target engine refused."""
    reason = (failure.message.strip().splitlines() or [failure.code])[0]
    column = failure.column or "(not named by the engine)"
    row = rows[failure.index or 0]
    return unrepresentable(plan, source, target, row, column, failure.code, reason, None)


def unrepresentable(
    plan: Plan,
    source: Side,
    target: str,
    row: Row,
    column: str,
    code: str,
    reason: str,
    hint: str | None,
) -> UnrepresentableValue:
    """Return UnrepresentableValue naming the source row's key, the column and the type."""
    key = show_key(plan.key, source.key_of(row))
    table = f"{source.adapter.name}.{source.table}"
    found = next((c.target for c in plan.columns if c.name == column), None)
    details = f"target {target}.{column}"
    if found is not None:
        details += f" is {found.spelled} on {found.engine}"
    return UnrepresentableValue(
        f"cannot copy row {key_text(key)} of {table}: column {column}: {reason}",
        table=table,
        key=key,
        column=column,
        code=code,
        details=details,
        hint=hint or RESUME_HINT,
    )


def unreadable(plan: Plan, target: Side, row: Row, exc: BadValue) -> VerificationFailed:
    """Return the error for a target row that cannot be read back."""
    key = show_key(plan.key, target.key_of(row))
    return VerificationFailed(
        f"{target.adapter.name}.{target.table}: row {key_text(key)} cannot be read back: "
        f"column {plan.names[exc.column or 0]}: {exc.refused.reason}",
        hint="pass --restart to copy again",
    )


def key_text(key: dict[str, object]) -> str:
    """Spell a key for a message: `id=7` or `a=1, b='x'`."""
    return ", ".join(f"{name}={value!r}" for name, value in key.items())
