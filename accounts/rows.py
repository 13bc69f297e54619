"""Hot single-row reads in plain SQL, written once per process from the models' metadata.

On the request path the ORM spends far longer composing a tiny query than the database
spends running it: `ApiKey.objects.filter(prefix=...).values(...).first()` took ~300 µs on
SQLite, for ~25 µs of SQLite's own work (README "Performance"). `read_row` keeps the SQL
of each (model, fields, key) it has seen and only binds the value; `convert_row` turns a
raw row into Python values exactly as the ORM would (the backend's and the fields'
converters: datetimes, JSON, UUIDs, booleans on SQLite).
"""

import functools

from django.db import router, transaction
from django.db.models.sql import Query


def convert_row(db, fields, row):
    """`row` (raw values of `fields`, in order) as the ORM would return them."""
    compiler = db.ops.compiler("SQLCompiler")(Query(fields[0].model), db, None)
    converters = compiler.get_converters([f.get_col(f.model._meta.db_table) for f in fields])
    return next(compiler.apply_converters([row], converters)) if converters else row


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
    with db.cursor() as cursor:
        cursor.execute(sql, [key_field.get_db_prep_value(value, db)])
        row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(names, convert_row(db, fields, row), strict=True))
