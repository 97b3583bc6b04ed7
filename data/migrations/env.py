"""Alembic environment: runs against the engine handed in by :func:`data.db.upgrade`."""

from alembic import context

from data.models import Base  # the package registers every table on Base.metadata

config = context.config
target_metadata = Base.metadata


def _include_object(
    obj: object, name: str | None, type_: str, _reflected: bool, _compare_to: object
) -> bool:  # Alembic's hook
    """GiST indexes exist only on PostgreSQL: ignore them when comparing elsewhere."""
    if type_ == "table" and name == "spatial_ref_sys":  # owned by PostGIS
        return False
    if type_ == "index" and name and name.endswith("_gist"):
        return context.get_context().dialect.name == "postgresql"
    return True


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if (
        engine is None
    ):  # the bare ``alembic`` command: the service's own engine settings (SQLite pragmas)
        from data.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_include_object,
        )
        context.run_migrations()


run_migrations_online()
