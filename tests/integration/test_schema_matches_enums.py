"""The database holds what the domain enums say: the CHECK lists and partial-index predicates the
model derives from them are the migrated ones (a new member without a migration fails here), and
the demo seed covers every type and category."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from appointment_svc.adapters.tables import metadata
from appointment_svc.domain.model import AppointmentType, Category
from appointment_svc.seed import seed_if_empty
from mesh_common.config import sqlalchemy_url

MODEL_SCHEMA = "model_copy"

CHECKS = text("""
    SELECT con.conname, pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
    WHERE n.nspname = :schema AND con.contype = 'c'
""")
PREDICATES = text("""
    SELECT c.relname, pg_get_expr(i.indpred, i.indrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND i.indpred IS NOT NULL
""")


@pytest.fixture
def schemas(database_url):
    """(migrated, model) -> {"checks": name -> definition, "predicates": index -> predicate}."""
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {MODEL_SCHEMA}"))
            metadata.create_all(connection.execution_options(schema_translate_map={None: MODEL_SCHEMA}))

            def read(schema: str) -> dict[str, dict[str, str]]:
                return {
                    "checks": dict(connection.execute(CHECKS, {"schema": schema}).all()),
                    "predicates": dict(connection.execute(PREDICATES, {"schema": schema}).all()),
                }

            return read("public"), read(MODEL_SCHEMA)
    finally:
        engine.dispose()


def test_the_models_enum_checks_are_the_migrated_databases(schemas):
    migrated, model = schemas
    assert {"bookings_known_status", "bookings_known_type", "time_slots_known_type"} <= set(model["checks"])
    assert model["checks"] == {name: migrated["checks"].get(name) for name in model["checks"]}


def test_the_models_partial_indexes_select_the_migrated_databases_rows(schemas):
    migrated, model = schemas
    assert {"uq_bookings_active_slot", "ix_bookings_active_recipient"} <= set(model["predicates"])
    assert model["predicates"] == {name: migrated["predicates"].get(name) for name in model["predicates"]}


def test_the_demo_seed_offers_every_type_to_every_category(database_url):
    created = seed_if_empty(database_url, days=2)
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            offered = connection.execute(text("""
                SELECT DISTINCT s.type, category
                FROM time_slots s JOIN consultants c ON c.id = s.consultant_id, unnest(c.categories) AS category
            """)).all()
    finally:
        engine.dispose()
    assert created > 0
    assert set(offered) == {(kind.value, category.value) for kind in AppointmentType for category in Category}
    assert seed_if_empty(database_url) == 0
