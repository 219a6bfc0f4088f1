"""One UPDATE for many rows, each with values of its own (the write path's tickets).

A batch touches many tickets at once: every one gets the batch's time, each its own
number of new messages, some a deadline or an order number of their own. Django writes
that as ``update(col=Case(When(pk=1, then=...), When(pk=2, ...), default=F(col)))``:
one statement, but the ORM resolves and compiles every ``When`` in Python. On a social
drain of 45 events per batch that was a quarter of the drain's CPU (py-spy, 2026-12-07,
``QuerySet.update`` and ``bulk_update``).

On PostgreSQL ``rows_update`` sends the rows' own values as binary arrays instead, bound
by the server, and joins them to the table::

    UPDATE t SET updated_at = $1, message_count = t.message_count + v.a0,
        order_number = CASE WHEN v.s1 THEN v.c1 ELSE t.order_number END
    FROM UNNEST($2::bigint[], $3::integer[], $4::boolean[], $5::varchar[]) AS v(pk, a0, s1, c1)
    WHERE t.id = v.pk

Elsewhere (SQLite) it writes the same change with Django's ``Case``/``When``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db import connections, models, router
from django.db.models import Case, F, Value, When

from core.rows_insert import _Plan, _plan, server_bound_cursor


def rows_update(
    model: type[models.Model],
    pks: Collection[Any],
    *,
    same: Mapping[str, Any] | None = None,
    added: Mapping[str, Mapping[Any, int]] | None = None,
    changed: Mapping[str, Mapping[Any, Any]] | None = None,
) -> int:
    """Update the rows ``pks`` of ``model`` in one statement; returns the rows updated.

    ``same``: a value every row gets. ``added``: a number added to the column, per row
    (rows not listed add 0). ``changed``: a value of each listed row's own; rows not listed
    keep theirs. Columns are named by attname (``assignee_id``). Values are plain Python
    values (no expressions), prepared as their fields prepare them.
    """
    same, added, changed = dict(same or {}), dict(added or {}), dict(changed or {})
    keys = list(dict.fromkeys(pks))
    if not keys or not (same or added or changed):
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _plan(model, alias, connection)
    if connection.vendor == "postgresql" and plan.usable and plan.arrays is not None:
        return _update_unnest(model, plan, keys, same, added, changed, alias)
    return _update_with_cases(model, keys, same, added, changed, alias)


def _update_unnest(
    model: type[models.Model],
    plan: _Plan,
    keys: list[Any],
    same: dict[str, Any],
    added: dict[str, Mapping[Any, int]],
    changed: dict[str, Mapping[Any, Any]],
    alias: str,
) -> int:
    assert plan.arrays is not None
    opts = model._meta

    def field(attname: str) -> models.Field:
        return opts.get_field(attname)  # type: ignore[return-value]

    def array(attname: str) -> str:
        return plan.arrays[id(field(attname))]  # type: ignore[index]

    def column(attname: str) -> str:
        return plan.columns[id(field(attname))]

    sets: list[str] = []
    params: list[Any] = []
    for attname, value in same.items():
        sets.append(f"{column(attname)} = %b::{array(attname)[:-2]}")
        params.append(plan.prepare[attname](value))
    names = ["pk"]
    types = [array(opts.pk.attname)]
    arrays: list[list[Any]] = [keys]
    for n, (attname, amounts) in enumerate(added.items()):
        sets.append(f"{column(attname)} = t.{column(attname)} + v.a{n}")
        names.append(f"a{n}")
        types.append("bigint[]")
        arrays.append([amounts.get(key, 0) for key in keys])
    for n, (attname, values) in enumerate(changed.items()):
        col = column(attname)
        sets.append(f"{col} = CASE WHEN v.s{n} THEN v.c{n} ELSE t.{col} END")
        names += [f"s{n}", f"c{n}"]
        types += ["boolean[]", array(attname)]
        prepare = plan.prepare[attname]
        arrays.append([key in values for key in keys])
        arrays.append([prepare(values[key]) if key in values else None for key in keys])
    unnest = ", ".join(f"%b::{kind}" for kind in types)
    sql = (
        f"UPDATE {plan.table} AS t SET {', '.join(sets)} "  # noqa: S608 - quoted names
        f"FROM UNNEST({unnest}) AS v({', '.join(names)}) "
        f"WHERE t.{column(opts.pk.attname)} = v.pk"
    )
    with server_bound_cursor(alias) as cursor:
        cursor.execute(sql, params + arrays)
        return int(cursor.rowcount)


def _update_with_cases(
    model: type[models.Model],
    keys: list[Any],
    same: dict[str, Any],
    added: dict[str, Mapping[Any, int]],
    changed: dict[str, Mapping[Any, Any]],
    alias: str,
) -> int:
    opts = model._meta

    def output(attname: str) -> models.Field:
        field: Any = opts.get_field(attname)
        return field.target_field if field.is_relation else field

    values: dict[str, Any] = {}
    for attname, value in same.items():
        values[attname] = Value(value, output_field=output(attname))
    for attname, amounts in added.items():
        numbers = {key: amounts.get(key, 0) for key in keys}
        amount = (
            Value(next(iter(numbers.values())))
            if len(set(numbers.values())) == 1
            else Case(*[When(pk=key, then=Value(n)) for key, n in numbers.items()], default=0)
        )
        values[attname] = F(attname) + amount
    for attname, per_row in changed.items():
        field = output(attname)
        values[attname] = Case(
            *[
                When(pk=key, then=Value(value, output_field=field))
                for key, value in per_row.items()
            ],
            default=F(attname),
            output_field=field,
        )
    return model._default_manager.using(alias).filter(pk__in=keys).update(**values)
