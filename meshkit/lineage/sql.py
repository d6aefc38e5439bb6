"""What one model's compiled SQL reads from each of its parents, and where each output column comes from.

sqlglot parses the statement in the adapter's dialect and qualifies it against the parents' known columns
(`select *` expands through them), projections no later query uses are pushed out of CTEs and subqueries,
and then every column that any scope references (select, where, join, group by, having, window, qualify,
lateral/unnest, set operations, subqueries) is attributed to the parent table it comes from; sqlglot's
`lineage` gives each output column's sources. Identifiers are compared case-insensitively: a model that
might read a column is named (a break is never missed), at worst at some cost in precision.

A parent is matched to a table of the SQL by its relation (database.schema.identifier, or the trailing
parts where the SQL writes fewer), so the same code serves generated sources, dbt-loom refs and the
project's own models. Anything this cannot attribute is reported in `problem` or `everything`, and the
caller falls back to model-level lineage for what it concerns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

_PREFIX = "__mk"  # the name each matched parent table is given before qualification
_QUOTES = "\"`[]'"


class Parent(msgspec.Struct, frozen=True):
    """A table the model may read: its key (a unique_id), its relation parts and the columns known for it."""

    key: str
    relation: tuple[str, ...]  # (database, schema, identifier) lower-cased; empty parts left out
    columns: tuple[str, ...] | None  # lower-cased; None: not known (a raw source that declares none)


class Analysis(msgspec.Struct, frozen=True, gc=False):
    """One model's lineage in terms of its parents (kept in consumer records, so a rerun parses nothing).

    reads: parent key -> the columns the SQL reads anywhere. touched: every parent the SQL names, read or
    only counted. outputs: output column -> parent key -> the columns it derives from; None when they
    cannot be told. everything: parents whose every column may be read or passed on (a `*` over columns
    nobody declared). problem: why nothing could be attributed (then only `touched` is known)."""

    reads: dict[str, list[str]] = {}
    touched: list[str] = []
    outputs: dict[str, dict[str, list[str]]] | None = None
    everything: list[str] = []
    problem: str | None = None


def _bare(name: str) -> str:
    return name.strip(_QUOTES).lower()


def _parse(sql: str, dialect: str) -> Any:
    """The statement that is the model's query (the last one; dbt compiles one select, with comments)."""
    import sqlglot
    from sqlglot import exp

    statements = [s for s in sqlglot.parse(sql, read=dialect or None) if s is not None]
    queries = [s for s in statements if isinstance(s, exp.Query)]
    if not queries:
        raise ValueError("it holds no query")
    return queries[-1]


def _match(parts: tuple[str, ...], parents: Sequence[Parent]) -> Parent | None:
    """The parent whose relation is these parts, or ends with them when the SQL names fewer; None if not one."""
    exact = [p for p in parents if p.relation == parts]
    if exact:
        return exact[0]
    tail = [p for p in parents if len(parts) < len(p.relation) and p.relation[-len(parts) :] == parts]
    return tail[0] if len(tail) == 1 else None


def _rename_parents(tree: Any, parents: Sequence[Parent]) -> dict[str, Parent]:
    """Give each table that is a parent a plain name (so one flat schema describes them); name -> parent."""
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    named: dict[str, Parent] = {}
    for table in list(tree.find_all(exp.Table)):
        parts = tuple(_bare(part.name) for part in table.parts if part.name)
        if not parts or (len(parts) == 1 and parts[0] in ctes):
            continue
        parent = _match(parts, parents)
        if parent is None:
            continue
        name = next((n for n, p in named.items() if p is parent), f"{_PREFIX}{len(named)}")
        named[name] = parent
        alias = table.alias
        table.set("this", exp.to_identifier(name, quoted=True))
        table.set("db", None)
        table.set("catalog", None)
        if not alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(parts[-1], quoted=True)))
    return named


def _fold_identifiers(tree: Any) -> None:
    """Lower-case and quote every identifier, so no dialect's case folding can tell a column from its twin."""
    from sqlglot import exp

    for identifier in tree.find_all(exp.Identifier):
        identifier.set("this", identifier.this.lower())
        identifier.set("quoted", True)


def _table_of(scope: Any, alias: str) -> Any:
    """The source an alias names in scope or an enclosing one (a correlated subquery reads its outer query)."""
    while scope is not None:
        found = scope.sources.get(alias)
        if found is not None:
            return found
        scope = scope.parent
    return None


def _parent_name(source: Any, named: dict[str, Parent]) -> str | None:
    from sqlglot import exp

    if isinstance(source, exp.Table) and source.name in named and not source.args.get("db"):
        return str(source.name)
    return None


def _stars(scope: Any) -> Iterable[Any]:
    from sqlglot import exp

    expression = scope.expression
    if isinstance(expression, exp.Select):
        for projection in expression.expressions:
            bare = isinstance(projection, exp.Star)
            if bare or (isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                yield projection


def analyse(sql: str, dialect: str, parents: Sequence[Parent]) -> Analysis:
    """The lineage of one compiled statement against its parents; problem says why when none can be had."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage
    from sqlglot.optimizer.pushdown_projections import pushdown_projections
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope, traverse_scope
    from sqlglot.schema import MappingSchema

    try:
        tree = _parse(sql, dialect)
    except (SqlglotError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Analysis(problem=f"the SQL does not parse as {dialect or 'ANSI'} SQL ({first[:200]})")
    named = _rename_parents(tree, parents)
    _fold_identifiers(tree)
    touched = sorted({named[name].key for name in named})
    tables: dict[str, object] = {
        name: dict.fromkeys(p.columns, "text") for name, p in named.items() if p.columns is not None
    }
    schema = MappingSchema(tables, dialect=dialect or None, normalize=False)
    try:
        tree = qualify(tree, schema=schema, dialect=dialect or None, validate_qualify_columns=False)
        with contextlib.suppress(
            SqlglotError
        ):  # a `*` over an undeclared table: all projections kept, reads a superset
            tree = pushdown_projections(tree)
        scopes = list(traverse_scope(tree))
    except (SqlglotError, RecursionError, KeyError, ValueError) as exc:
        return Analysis(touched=touched, problem=f"its columns cannot be resolved ({type(exc).__name__}: {exc})"[:300])

    reads: dict[str, set[str]] = {}
    everything: set[str] = set()
    ambiguous = False  # an unqualified column two parents could hold: which output it feeds is not known
    for scope in scopes:
        own = {alias: name for alias, source in scope.sources.items() if (name := _parent_name(source, named))}
        for column in scope.columns:
            if column.table:
                name = _parent_name(_table_of(scope, column.table), named)
                if name is not None:
                    reads.setdefault(named[name].key, set()).add(column.name)
                continue
            # unqualified after qualification: only when a source's columns are unknown; read wherever it could be
            candidates = [n for n in own.values() if column.name in (named[n].columns or (column.name,))]
            for name in candidates:
                reads.setdefault(named[name].key, set()).add(column.name)
            ambiguous = ambiguous or len(candidates) > 1
        for star in _stars(scope):
            table = star.table if isinstance(star, exp.Column) else ""
            covered = [own[table]] if table in own else list(own.values())
            for name in covered:
                parent = named[name]
                if parent.columns is None:
                    everything.add(parent.key)
                else:
                    reads.setdefault(parent.key, set()).update(parent.columns)
    outputs: dict[str, dict[str, list[str]]] | None = None
    if not everything and not ambiguous:
        try:
            found = lineage(None, tree, schema=schema, dialect=dialect or None, scope=build_scope(tree), copy=False)
            outputs = {}
            for output, node in found.items() if isinstance(found, dict) else ():
                sources: dict[str, set[str]] = {}
                for leaf in node.walk():
                    name = _parent_name(leaf.expression, named)
                    if name is not None:
                        sources.setdefault(named[name].key, set()).add(_bare(leaf.name.rsplit(".", 1)[-1]))
                outputs[_bare(output)] = {key: sorted(columns) for key, columns in sorted(sources.items())}
        except (SqlglotError, RecursionError, KeyError, ValueError, AttributeError):
            outputs = None
    return Analysis(
        reads={key: sorted(columns) for key, columns in sorted(reads.items())},
        touched=touched,
        outputs=outputs,
        everything=sorted(everything),
        problem=None,
    )
