"""Multi-row INSERTs for the write path without the ORM's per-field preparation.

``Model.objects.bulk_create`` prepares every value of every row through the field's
``pre_save`` / ``get_db_prep_save`` chain and an SQL compiler: on a batch of 100 new
tickets (about 1,500 rows in 15 tables) that was more than half of the batch's CPU time
(cProfile, 2026-12-07). ``rows_insert`` writes the same rows with the same statement
(``INSERT ... VALUES (...), ... RETURNING pk``, split where the backend limits
parameters, as ``bulk_create`` splits): what to do for each column is decided once per
model and connection, and the common values (text, integers, booleans, aware times,
``None``) go to the driver as they are. Every other value still goes through its field's
own ``get_db_prep_save``, so a field type it does not know is prepared as Django would.

On PostgreSQL a batch of more than a few rows goes as one array per column, in binary,
bound by the server:
``INSERT ... SELECT * FROM UNNEST($1::bigint[], $2::text[], ...) RETURNING pk``, the form
Django 5.2's own ``bulk_create`` uses, but without its client-side binding. Django's
cursors write every parameter into the SQL text, and psycopg parses a statement over
4 KB again each time (it caches shorter ones only): 100 rows of 15 columns cost 3.2 ms of
CPU that way, 0.45 ms as binary arrays (``python -m bench.rows_insert``, figures in
docs/benchmarks.md). The statement's text no longer grows with the rows, so it is never
split either.

Models it cannot write the same way as ``bulk_create`` (database defaults, generated
columns it cannot read back without a converter, inherited tables, ordering with respect
to, generic relations) are handed to ``bulk_create``, as are expressions among the values. Like
``bulk_create``: no ``save()``, no signals; the objects get their keys and count as saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)

# psycopg keeps the parsed form of a client-bound statement with at most this many
# parameters (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS): a small INSERT of a few rows
# is then cheapest as VALUES (one message: 0.23 ms of CPU, against 0.33 as arrays; ten
# messages: 0.48 against 0.42, bench.rows_insert). Above it, arrays on PostgreSQL.
DRIVER_CACHED_PARAMETERS = 50

# Field classes whose values of these exact types the driver takes as they are (what
# their get_db_prep_save would return unchanged). Subclasses of these field classes may
# prepare values differently, so only the exact classes are listed.
_TEXT = (
    models.CharField,
    models.TextField,
    models.EmailField,
    models.SlugField,
    models.URLField,
    models.GenericIPAddressField,
)
_INTEGER = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
)

# What to do with a value: return it prepared, or raise _Unsupported.
_Prepare = Callable[[Any], Any]


class _Unsupported(Exception):
    """A value (an expression) this module does not prepare: bulk_create writes it."""


class _Plan:
    """For one model on one connection: the columns, each value's preparation, the
    foreign keys to fill from their cached objects, the SQL pieces."""

    def __init__(self, model: type[models.Model], connection: BaseDatabaseWrapper) -> None:
        opts = model._meta
        # What the INSERT returns: the key when the database makes it, and generated
        # columns (a ticket's sort ranks), read back as bulk_create reads them.
        self.returned: list[Any] = list(opts.db_returning_fields)
        self.usable = (
            not opts.parents
            and not opts.private_fields
            and opts.order_with_respect_to is None
            and all(f is opts.pk or _plain_generated(f, connection) for f in self.returned)
            and connection.features.can_return_rows_from_bulk_insert
            and not any(f.db_default is not models.NOT_PROVIDED for f in opts.concrete_fields)
        )
        self.pk: Any = opts.pk
        # The database makes the key (an auto field), or every row must bring its own.
        self.pk_made = opts.pk in self.returned
        fields = [f for f in opts.concrete_fields if not f.generated]
        self.fields_with_pk = fields
        self.fields_without_pk = [f for f in fields if f is not opts.pk]
        self.relations: list[Any] = [
            f for f in fields if f.is_relation and f.many_to_one and f.remote_field is not None
        ]
        self.prepare = {f.attname: self._preparation(f, connection) for f in fields}
        self.presave = {f.attname for f in fields if _needs_pre_save(f)}
        quote = connection.ops.quote_name
        self.table = quote(opts.db_table)
        returning = ", ".join(quote(f.column) for f in self.returned)
        self.returning = f" RETURNING {returning}" if returning else ""
        self.columns = {id(f): quote(f.column) for f in fields}
        # The array type of each column for PostgreSQL's UNNEST, without its length or
        # precision (no truncation: the column's own type checks the value), or None when
        # a column cannot travel as an array (as Django's bulk_create decides it).
        self.arrays: dict[int, str] | None = None
        db_types = {id(f): f.db_type(connection) for f in fields}
        if connection.vendor == "postgresql" and all(
            db_types[id(f)] is not None
            and _plain_placeholder(f, connection)
            and (f.target_field if f.is_relation else f).get_internal_type()  # type: ignore[attr-defined]
            in connection.data_types
            for f in fields
        ):
            self.arrays = {
                key: f"{db_type or ''}".split("(")[0] + "[]" for key, db_type in db_types.items()
            }

    @staticmethod
    def _preparation(field: models.Field, connection: BaseDatabaseWrapper) -> _Prepare:
        def generic(value: Any) -> Any:
            if hasattr(value, "resolve_expression"):
                raise _Unsupported
            return field.get_db_prep_save(value, connection)

        kind = type(field)
        if kind in (models.ForeignKey, models.OneToOneField):
            target = field.target_field  # type: ignore[attr-defined]
            if type(target) in _INTEGER:

                def key(value: Any) -> Any:
                    return value if value is None or type(value) is int else generic(value)

                return key
            return generic
        if kind in _TEXT:

            def text(value: Any) -> Any:
                return value if value is None or isinstance(value, str) else generic(value)

            return text
        if kind in _INTEGER:

            def integer(value: Any) -> Any:
                return value if value is None or type(value) is int else generic(value)

            return integer
        if kind is models.BooleanField:

            def boolean(value: Any) -> Any:
                return value if value is None or type(value) is bool else generic(value)

            return boolean
        if kind is models.DateTimeField and connection.vendor == "postgresql":
            # The PostgreSQL backend hands aware datetimes to the driver unchanged.
            def moment(value: Any) -> Any:
                if value is None or (type(value) is dt.datetime and value.tzinfo is not None):
                    return value
                return generic(value)

            return moment
        return generic

    def rows(self, objs: Sequence[models.Model], fields: list[models.Field]) -> list[Any]:
        """The parameters of every row, flat, in column order."""
        params: list[Any] = []
        append = params.append
        steps = [(f, f.attname, self.prepare[f.attname], f.attname in self.presave) for f in fields]
        for obj in objs:
            for field, attname, prepare, presave in steps:
                value = field.pre_save(obj, True) if presave else getattr(obj, attname)
                append(prepare(value))
        return params

    def columns_of(self, objs: Sequence[models.Model], fields: list[models.Field]) -> list[Any]:
        """The parameters as one list per column (PostgreSQL's UNNEST)."""
        width = len(fields)
        flat = self.rows(objs, fields)
        return [flat[n::width] for n in range(width)]


def _plain_placeholder(field: models.Field, connection: BaseDatabaseWrapper) -> bool:
    """Whether the field's values are written as a plain parameter, so they can travel in
    an array. A field with a placeholder of its own cannot (as Django's bulk_create
    decides), but a BinaryField's is a plain one but on MySQL: the raw mail of a batch's
    records then goes in binary, not as hex in the statement's text (100 mails made a
    statement of 1.6 MB that the driver and the server parsed)."""
    if not hasattr(field, "get_placeholder"):
        return True
    # The stubs take an expression only; Django passes the value itself.
    placeholder = connection.ops.binary_placeholder_sql(b"")  # type: ignore[arg-type]
    return type(field) is models.BinaryField and placeholder == "%s"


def _plain_generated(field: models.Field, connection: BaseDatabaseWrapper) -> bool:
    """A generated column whose value the driver returns as Django would read it (no
    converter): an integer or text; on PostgreSQL also a boolean or an aware time (SQLite
    returns those as numbers and text, which Django converts)."""
    if not field.generated:
        return False
    output = type(field.output_field)  # type: ignore[attr-defined]
    if output in _INTEGER or output in _TEXT:
        return True
    return connection.vendor == "postgresql" and output in (
        models.BooleanField,
        models.DateTimeField,
    )


def _needs_pre_save(field: models.Field) -> bool:
    """Whether the field's ``pre_save`` may change the value (auto_now and the like)."""
    if isinstance(field, models.DateField):
        return bool(field.auto_now or field.auto_now_add)
    return type(field).pre_save is not models.Field.pre_save


_plans: dict[tuple[type[models.Model], str, str], _Plan] = {}


def _plan(model: type[models.Model], alias: str, connection: BaseDatabaseWrapper) -> _Plan:
    key = (model, alias, connection.vendor)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _Plan(model, connection)
    return plan


def rows_insert(objs: Sequence[M]) -> list[M]:
    """Insert ``objs`` (all of one model, unsaved) as ``bulk_create(objs)`` would, and
    return them with their keys set."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    plan = _plan(model, alias, connection)
    if not plan.usable or any(type(obj) is not model for obj in objs):
        return model._default_manager.using(alias).bulk_create(objs)
    for obj in objs:
        _relations_filled(obj, plan)
    for obj in objs:
        if obj.pk is None:
            obj.pk = plan.pk.get_pk_value_on_save(obj)
    with_pk = [obj for obj in objs if obj.pk is not None]
    if (with_pk and len(with_pk) != len(objs)) or (not with_pk and not plan.pk_made):
        return model._default_manager.using(alias).bulk_create(objs)
    fields = plan.fields_with_pk if with_pk else plan.fields_without_pk
    columns = ", ".join(plan.columns[id(f)] for f in fields)
    if plan.arrays is not None and len(objs) * len(fields) > DRIVER_CACHED_PARAMETERS:
        try:
            arrays = plan.columns_of(objs, fields)
        except _Unsupported:
            return model._default_manager.using(alias).bulk_create(objs)
        _insert_unnest(objs, arrays, fields, columns, plan, alias=alias)
        return _saved(objs, alias)
    try:
        chunks = _chunks(objs, fields, plan, connection)
    except _Unsupported:
        return model._default_manager.using(alias).bulk_create(objs)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # One statement is atomic on its own: outside a transaction, a BEGIN and a COMMIT
    # around it would be two more round trips (a lone customer's new contact).
    together: AbstractContextManager[Any] = (
        transaction.atomic(using=alias, savepoint=False) if len(chunks) > 1 else nullcontext()
    )
    with together, connection.cursor() as cursor:
        for chunk, params in chunks:
            sql = (
                f"INSERT INTO {plan.table} ({columns}) VALUES "  # noqa: S608 - quoted names
                + ", ".join([row] * len(chunk))
                + plan.returning
            )
            cursor.execute(sql, params)
            if plan.returned:
                _returned_set(chunk, cursor.fetchall(), plan)
    return _saved(objs, alias)


def _returned_set(objs: Sequence[models.Model], rows: list[Any], plan: _Plan) -> None:
    """The returned key and generated columns onto the objects, rows in the objects'
    order (as Django's bulk_create relies on too)."""
    attnames = [f.attname for f in plan.returned]
    for obj, row in zip(objs, rows, strict=True):
        for attname, value in zip(attnames, row, strict=True):
            setattr(obj, attname, value)


def _saved(objs: list[M], alias: str) -> list[M]:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def _insert_unnest(
    objs: list[M],
    arrays: list[Any],
    fields: list[models.Field],
    columns: str,
    plan: _Plan,
    *,
    alias: str,
) -> None:
    """PostgreSQL: every row in one statement of one binary array per column, bound by
    the server (``server_bound_cursor``)."""
    assert plan.arrays is not None
    unnest = ", ".join(f"%b::{plan.arrays[id(f)]}" for f in fields)
    sql = (
        f"INSERT INTO {plan.table} ({columns}) SELECT * FROM UNNEST({unnest})"  # noqa: S608
        + plan.returning
    )
    with transaction.atomic(using=alias, savepoint=False), server_bound_cursor(alias) as cursor:
        cursor.execute(sql, arrays)
        if plan.returned:
            _returned_set(objs, cursor.fetchall(), plan)


@contextmanager
def server_bound_cursor(alias: str) -> Iterator[Any]:
    """A PostgreSQL cursor whose parameters the server binds (so ``%b`` sends them in
    binary), wrapped as Django wraps its own: execute wrappers, the query log and Django's
    database errors all see its statements."""
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,  # defined for psycopg 3 only, which this project uses
    )

    connection = connections[alias]
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    # Django's own wrapping of a cursor it made (_cursor() makes a client-bound one).
    with connection._prepare_cursor(raw) as cursor:  # type: ignore[attr-defined]
        yield cursor


def _chunks(
    objs: list[M], fields: list[models.Field], plan: _Plan, connection: BaseDatabaseWrapper
) -> list[tuple[list[M], list[Any]]]:
    """The rows in statements as large as the backend takes (as bulk_create splits
    them), each with its parameters; every value prepared before anything is written."""
    size = max(connection.ops.bulk_batch_size(fields, objs), 1)
    chunks = []
    for start in range(0, len(objs), size):
        chunk = objs[start : start + size]
        chunks.append((chunk, plan.rows(chunk, fields)))
    return chunks


def _relations_filled(obj: models.Model, plan: _Plan) -> None:
    """What ``bulk_create`` checks of related objects: a related object given before it
    was saved now lends its key; an unsaved one refuses the row (no silent NULL)."""
    for field in plan.relations:
        if not field.is_cached(obj):
            continue
        related = field.get_cached_value(obj)
        if related is None:
            continue
        if related.pk is None:
            raise ValueError(
                f"bulk_create() prohibited to prevent data loss due to unsaved related "
                f"object '{field.name}'."
            )
        if getattr(obj, field.attname) in field.empty_values:
            setattr(obj, field.attname, getattr(related, field.target_field.attname))
