"""A scratch database for a benchmark: a temporary SQLite file, or a database created (and dropped
afterwards) on the PostgreSQL server that DATABASE_URL names. Shared by the bench scripts."""
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _pg_admin(url):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError:  # the named database may not exist: use the maintenance one
        return psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)


def scratch_database(name: str):
    """Point DATABASE_URL (and the var/private folders) at a new, empty database called `name`;
    return (description, cleanup(keep)). Call before django.setup()."""
    url = os.environ.get("DATABASE_URL", "")
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    os.environ["APP_VAR_DIR"] = str(tmp / "var")
    os.environ["APP_PRIVATE_STORAGE"] = str(tmp / "private")
    (tmp / "var" / "static").mkdir(parents=True)  # whitenoise warns about a missing STATIC_ROOT

    def close_connections():
        from django.db import connections

        connections.close_all()

    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        with _pg_admin(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

        def cleanup(keep):
            close_connections()
            if keep:
                print(f"kept database {name}")
            else:
                with _pg_admin(url) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(tmp, ignore_errors=True)

        parts = urlsplit(url)
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{name}", cleanup
    if url and not url.startswith("sqlite"):
        raise SystemExit(f"unsupported DATABASE_URL for the bench: {url}")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"

    def cleanup(keep):
        close_connections()
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return f"SQLite {tmp / 'bench.sqlite3'}", cleanup


def add_scratch_arguments(parser, default_db: str, migrated: str = "new fields and indexes") -> None:
    """The scratch-database options every large bench takes: --keep, --db and --reuse."""
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--db", default=default_db,
                        help=f"PostgreSQL: the name of the scratch database, dropped and created again (default "
                             f"{default_db}; on a shared server give one of your own)")
    parser.add_argument("--reuse", metavar="DB",
                        help="measure a database kept by an earlier --keep run instead of generating one: the "
                             "SQLite file it printed, or on PostgreSQL the name of the database on the server of "
                             f"DATABASE_URL; it is migrated ({migrated}) and ANALYZEd again, and kept")
