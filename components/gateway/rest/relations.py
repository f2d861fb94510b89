"""Relationships between tables, read from foreign keys, as PostgREST infers them.

    many-to-one   films.director_id -> directors.id        films?select=*,directors(*)
    one-to-many   the same key, seen from directors        directors?select=*,films(*)
    one-to-one    a foreign key that is also unique         (an object from either side)
    many-to-many  a junction table whose primary key holds a key to each side
                                                            actors?select=*,films(*)

A `Relationship` reads from the parent's side: `columns` on the parent match
`target_columns` on the target (through `junction` for many-to-many), so stitching is the
same for every kind. `find(schema, parent, target, hint)` picks one, or raises PGRST200
(none) or PGRST201 (ambiguous), with PostgREST's rules for hints and self-references.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from components.datastore.schema import ForeignKey, Schema, Table
from components.gateway.rest import errors

M2O, O2M, O2O, M2M = "many-to-one", "one-to-many", "one-to-one", "many-to-many"


@dataclass(frozen=True, slots=True)
class Junction:
    """The middle table of a many-to-many: `source` keys the parent, `target` the target."""

    table: str
    source: ForeignKey
    target: ForeignKey


@dataclass(frozen=True, slots=True)
class Relationship:
    """How `table`'s rows find their `target` rows."""

    table: str
    target: str
    cardinality: str
    constraint: str  # the foreign key's name (the junction table's for many-to-many)
    columns: tuple[str, ...]  # on `table`
    target_columns: tuple[str, ...]  # on `target`
    junction: Junction | None = None

    @property
    def to_one(self) -> bool:
        return self.cardinality in (M2O, O2O)

    @property
    def is_self(self) -> bool:
        return self.table == self.target

    def describe(self) -> dict[str, str]:
        """Return this relationship as PostgREST lists it in PGRST201's details."""
        if self.junction is not None:
            j = self.junction
            how = (
                f"{j.table} using {j.source.name}({', '.join(j.source.columns)}) and "
                f"{j.target.name}({', '.join(j.target.columns)})"
            )
        else:
            how = (
                f"{self.constraint} using {self.table}({', '.join(self.columns)}) and "
                f"{self.target}({', '.join(self.target_columns)})"
            )
        return {
            "cardinality": self.cardinality,
            "embedding": f"{self.table} with {self.target}",
            "relationship": how,
        }


def relationships(
    schema: Schema, table: Table, visible: Callable[[str], bool]
) -> Iterator[Relationship]:
    """Yield every relationship from `table` to a visible table of the schema."""
    for fk in table.foreign_keys:
        if _exposed(schema, fk, visible):
            unique = table.is_unique(fk.columns)
            yield Relationship(
                table.name,
                fk.ref_table,
                O2O if unique else M2O,
                fk.name,
                fk.columns,
                fk.ref_columns,
            )
    for other in schema.tables.values():
        if not visible(other.name):
            continue
        for fk in other.foreign_keys:
            if fk.ref_table == table.name and _exposed(schema, fk, visible):
                unique = other.is_unique(fk.columns)
                yield Relationship(
                    table.name,
                    other.name,
                    O2O if unique else O2M,
                    fk.name,
                    fk.ref_columns,
                    fk.columns,
                )
        yield from _many_to_many(schema, table, other, visible)


def _exposed(schema: Schema, fk: ForeignKey, visible: Callable[[str], bool]) -> bool:
    """Say whether a foreign key points into this schema, at a table the API shows."""
    # PostgreSQL names the schema; MySQL names its database, which the Schema does not
    same = schema.namespace is None or fk.ref_schema in (None, schema.namespace)
    return same and fk.ref_table in schema.tables and visible(fk.ref_table)


def _many_to_many(
    schema: Schema, table: Table, junction: Table, visible: Callable[[str], bool]
) -> Iterator[Relationship]:
    keys = set(junction.primary_key)
    if junction.name == table.name or not keys:
        return
    for source in junction.foreign_keys:
        if source.ref_table != table.name or not set(source.columns) <= keys:
            continue
        for target in junction.foreign_keys:
            if target is source or not set(target.columns) <= keys:
                continue
            if not _exposed(schema, target, visible) or target.ref_table == junction.name:
                continue
            yield Relationship(
                table.name,
                target.ref_table,
                M2M,
                junction.name,
                source.ref_columns,
                target.ref_columns,
                Junction(junction.name, source, target),
            )


def find(
    schema: Schema,
    table: Table,
    target: str,
    hint: str | None,
    visible: Callable[[str], bool],
) -> Relationship:
    """Return the one relationship `table?select=target!hint(...)` names."""
    found = [r for r in relationships(schema, table, visible) if _matches(r, target, hint)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise errors.no_relationship(table.name, target, hint, schema.namespace or "main")
    hints = [f"{r.target}!{r.constraint}" for r in found]
    raise errors.ambiguous_relationship(table.name, target, [r.describe() for r in found], hints)


def _matches(rel: Relationship, target: str, hint: str | None) -> bool:
    """PostgREST's rule (Plan.hs findRel), for foreign-key relationships."""
    single = _single(rel.columns)
    ref_single = _single(rel.target_columns)
    if rel.is_self:
        if hint is None:
            # `children:family_tree(*)` is the one-to-many; `parent_id(*)` the many-to-one
            return (target == rel.target and not rel.to_one and rel.junction is None) or (
                rel.to_one and target == single and rel.cardinality == M2O
            )
        return target == rel.target and not rel.to_one and hint == ref_single
    if hint is None:
        if rel.junction is not None:
            return target == rel.target
        return target in (rel.target, rel.constraint) or (
            target == single and rel.cardinality in (M2O, O2O)
        )
    if target != rel.target:
        return False
    if rel.junction is not None:
        return hint == rel.junction.table
    return hint in (rel.constraint, single, ref_single)


def _single(columns: tuple[str, ...]) -> str | None:
    return columns[0] if len(columns) == 1 else None
