"""Hot single-row statements in plain SQL, written once per process from the models'
metadata, and prepared on PostgreSQL.

On the request path the ORM spends far longer composing a tiny query than the database
spends running it: `ApiKey.objects.filter(prefix=...).values(...).first()` took ~300 µs on
SQLite, for ~25 µs of SQLite's own work (README "Performance"). `read_row` keeps the SQL
of each (model, fields, key) it has seen and only binds the value; `fetch_one` runs such a
statement (this module's, the session state's, a refresh's rotation) on the backend's
prepared cursor where it has one (config/postgresql/: PostgreSQL then parses and plans it
once per connection, not on every call); `convert_row` turns a raw row into Python values
exactly as the ORM would (the backend's and the fields' converters: datetimes, JSON, UUIDs,
booleans on SQLite).
"""

import functools

from django.db import router, transaction
from django.db.models.sql import Query


def fetch_one(db, sql, params):
    """The first row of one of the kit's plain-SQL statements on connection `db`, or None:
    on the backend's prepared cursor when it offers one (Django's own cursor otherwise)."""
    with getattr(db, "prepared_cursor", db.cursor)() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def convert_row(db, fields, row):
    """`row` (raw values of `fields`, in order) as the ORM would return them. `fields` is
    a sequence the caller keeps (its converters are remembered by its identity)."""
    compiler, converters = _converters(db, fields)
    return next(compiler.apply_converters([row], converters)) if converters else row


def _converters(db, fields):
    """(compiler, converters) of `fields` on connection `db`, built once per connection:
    building them took longer than a refresh's whole UPDATE on PostgreSQL, where there are
    none. Kept on the connection's wrapper (one per thread), as they are bound to it; by
    the identity of `fields` (hashing a tuple of fields costs a call per field)."""
    built = db.__dict__.setdefault("_kit_row_converters", {})
    entry = built.get(id(fields))
    if entry is None or entry[0] is not fields:
        compiler = db.ops.compiler("SQLCompiler")(Query(fields[0].model), db, None)
        columns = [field.get_col(field.model._meta.db_table) for field in fields]
        entry = built[id(fields)] = (fields, compiler, compiler.get_converters(columns))
    return entry[1:]


@functools.cache
def _statement(model, names, key, vendor):
    """(SQL, fields, key field): `SELECT <names> FROM <table> WHERE <key> = %s LIMIT 1`."""
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    key_field = meta.pk if key == "pk" else meta.get_field(key)
    quote = transaction.get_connection(router.db_for_read(model)).ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    # Identifiers come from the model's metadata; the value is a parameter.
    sql = (
        f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {quote(key_field.column)} = %s LIMIT 1"
    )
    return sql, fields, key_field


def read_row(model, names, **key):
    """`model.objects.filter(<key>=<value>).values(*names).first()`, in one plain query:
    a dict of `names`, or None when no row matches. `key` is one field (or `pk`) = value."""
    ((key_name, value),) = key.items()
    db = transaction.get_connection(router.db_for_read(model))
    sql, fields, key_field = _statement(model, tuple(names), key_name, db.vendor)
    row = fetch_one(db, sql, [key_field.get_db_prep_value(value, db)])
    if row is None:
        return None
    return dict(zip(names, convert_row(db, fields, row), strict=True))
