"""SELECTs the write path runs on every batch, compiled by Django once.

Django compiles a queryset into SQL every time it runs it: the joins, the columns of
every model selected, the ordering, each lookup. For the small fixed reads of the write
path (a batch's tickets locked, their running SLA clocks, a chat looked up by its public
id) that compiling was most of the read's cost: at ``bench/chat_load.py``'s 1,000 chats,
``SQLCompiler.as_sql`` was 60 % of the time of the read of the live clocks and 55 % of the
tickets' lock (py-spy, 2026-12-07), and the reads of a batch of one message cost as
much as those of a batch of a hundred.

A ``Select`` is a queryset with named slots for its values, written as a function of
them::

    live_clocks = Select(
        lambda tickets: SlaClock.objects.filter(ticket_id__any=tickets).order_by("pk")
    )
    live_clocks(tickets=[4, 8])

Django compiles it once per database (with markers in the slots), and each call sends
that statement with the call's values and builds the objects as the ORM does: the
fields' own converters, ``select_related`` objects filled in, annotations set as
attributes. A slot is always a list, sent as one parameter (the ``any`` lookup:
``= ANY(%s)`` on PostgreSQL, ``IN (SELECT value FROM json_each(%s))`` on SQLite), so the
statement's text is the same for one value or a thousand and psycopg keeps it parsed
too. Querysets returning objects only (annotated or not): no ``values()`` or
``only()``/``defer()``; a slot used anywhere but an ``any`` lookup or ``One`` is refused
when the select is first compiled.

A slot that holds one value (a cut-off time, say) is wrapped in ``One`` with the field
its value is prepared as, and given one value when called::

    online = Select(
        lambda cutoff: AgentPresence.objects.filter(
            last_seen_at__gte=One(cutoff, models.DateTimeField())
        )
    )
    online(cutoff=now - timeout)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from inspect import signature
from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup
from django.db.models.query import (  # type: ignore[attr-defined]  # Django's own helper
    ModelIterable,
    get_related_populators,
)

M = TypeVar("M", bound=models.Model)


class Slot:
    """Where a ``Select``'s value goes, while Django compiles it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.field: models.Field | None = None  # set by the lookup that takes it
        self.single = False  # One(slot): a value, not a list

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class One(models.Expression):
    """A slot holding one value, as the right-hand side of any lookup; ``field`` says
    how the value is prepared (as that field's values are)."""

    def __init__(self, slot: Slot, field: models.Field) -> None:
        super().__init__(output_field=field)
        if not isinstance(slot, Slot):
            raise TypeError(f"One() takes a Select's slot, not {slot!r}.")
        self.slot = slot

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        self.slot.field = self.output_field
        self.slot.single = True
        return "%s", [self.slot]


class AnyOf(Lookup):
    """``field__any=[...]``: the field equals one of the values, given as one parameter
    (an array on PostgreSQL, JSON on SQLite), so the SQL does not grow with the list."""

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        field = self.lhs.output_field
        if isinstance(value, Slot):
            value.field = field
            return "%s", [value]
        return "%s", [_bound(field, value, connection)]

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
        # Compiled column and placeholder only; the values travel as parameters.
        sql = f"{lhs} IN (SELECT value FROM json_each({rhs}))"  # noqa: S608
        return sql, [*lhs_params, *rhs_params]


# Relations keep lookups of their own (``ticket_id__any`` and ``ticket__any`` alike).
models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)


def _bound(field: models.Field, values: Iterable[Any], connection: BaseDatabaseWrapper) -> Any:
    if isinstance(values, str | bytes):
        raise TypeError(f"An 'any' lookup takes a list of values, not {values!r}.")
    prepared = [field.get_db_prep_value(v, connection, prepared=False) for v in values]
    if connection.vendor == "postgresql":
        return prepared
    return json.dumps([str(v) if not isinstance(v, int | float | None) else v for v in prepared])


def _one(field: models.Field, value: Any, connection: BaseDatabaseWrapper) -> Any:
    return field.get_db_prep_value(value, connection, prepared=False)


@dataclass(frozen=True)
class _Bind:
    """A slot's place among the compiled statement's parameters."""

    name: str
    field: models.Field
    single: bool = False


@dataclass
class _Compiled:
    alias: str
    sql: str
    params: list[Any]
    converters: list[tuple[int, list[Any], Any]]
    model: type[models.Model]
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]
    annotations: list[tuple[str, int]]


class Select(Generic[M]):
    """A queryset (``build``, a function of its slots) compiled once per database."""

    def __init__(self, build: Callable[..., models.QuerySet[M]]) -> None:
        self.build = build
        self.slots = list(signature(build).parameters)
        # One for the process, not one per connection: each thread has a connection of
        # its own, and under ASGI every request runs on a new thread.
        self._compiled: _Compiled | None = None

    def __call__(self, **values: Any) -> list[M]:
        if set(values) != set(self.slots):
            raise TypeError(f"This select takes {self.slots}, given {sorted(values)}.")
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = self._compile()
        alias = compiled.alias
        connection = connections[alias]
        params = [
            (
                (_one if p.single else _bound)(p.field, values[p.name], connection)
                if isinstance(p, _Bind)
                else p
            )
            for p in compiled.params
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if compiled.converters:
            rows = _converted(rows, compiled.converters, connection)
        objs: list[M] = []
        for row in rows:
            obj = compiled.model.from_db(
                alias, compiled.init_list, row[compiled.start : compiled.end]
            )
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            objs.append(obj)  # type: ignore[arg-type]
        return objs

    def _compile(self) -> _Compiled:
        queryset = self.build(**{name: Slot(name) for name in self.slots})
        # The database the queryset uses (the router's answer for its model, reading or
        # locking), decided once with the statement.
        alias = queryset.db
        query = queryset.query
        if (
            queryset._iterable_class is not ModelIterable
            or query.deferred_loading != (frozenset(), True)
            or getattr(queryset, "_known_related_objects", None)
        ):
            raise ValueError("A Select returns whole objects: no values() or only().")
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        binds = [
            _Bind(p.name, p.field, p.single) if isinstance(p, Slot) and p.field is not None else p
            for p in params
        ]
        found = {p.name for p in binds if isinstance(p, _Bind)}
        if found != set(self.slots) or any(isinstance(p, Slot) for p in binds):
            missing = sorted(set(self.slots) - found)
            raise ValueError(
                f"Slots {missing} are not in the SQL: use them as field__any=slot or One(slot)."
            )
        select, klass_info = compiler.select, compiler.klass_info
        assert klass_info is not None
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return _Compiled(
            alias=alias,
            sql=sql,
            params=binds,
            converters=[
                (position, functions, expression)
                for position, (functions, expression) in compiler.get_converters(
                    [s[0] for s in select[0 : compiler.col_count]]
                ).items()
            ],
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[start:end]],
            start=start,
            end=end,
            populators=get_related_populators(klass_info, select, alias),
            # As ``ModelIterable`` sets them: each annotation's column, by name.
            annotations=list(compiler.annotation_col_map.items()),
        )


def _converted(
    rows: Iterable[Any], converters: list[tuple[int, list[Any], Any]], connection: Any
) -> Iterable[list[Any]]:
    """``SQLCompiler.apply_converters`` with this thread's connection (the compiler that
    found the converters belonged to whichever thread compiled first)."""
    for row in rows:
        values = list(row)
        for position, functions, expression in converters:
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        yield values
