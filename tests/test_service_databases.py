"""The test service's PostgreSQL databases: a killed test process's are reaped by the next one
of the same host, never another host's (its process ids mean nothing here) nor one in use."""

from __future__ import annotations

import subprocess
import sys
import uuid

import sqlalchemy as sa

from service import (
    HOST_ID,
    PG_URL,
    _admin_execute,
    _pg_url,
    database_name,
    drop_orphans,
    orphaned,
    require_database,
)

OTHER_HOST = "0" * 8 if HOST_ID != "0" * 8 else "1" * 8


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_a_name_carries_this_host_and_process_and_fits_postgresql() -> None:
    name = database_name("template")
    assert name.startswith(f"rf_template_{HOST_ID}_") and len(name) <= 63
    assert orphaned([name]) == [], "this process is alive"


def test_only_this_host_s_databases_of_ended_processes_are_orphans() -> None:
    dead, live = 4242, 4343
    names = [
        f"rf_test_{HOST_ID}_{dead}_0a1b2c3d",
        f"rf_template_{HOST_ID}_{dead}_0a1b2c3e",
        f"rf_test_{HOST_ID}_{live}_0a1b2c3f",
        f"rf_test_{OTHER_HOST}_{dead}_0a1b2c40",
        f"rf_test_{dead}_0a1b2c41",  # no host: whose it is cannot be told
        "reelforge",
    ]
    assert orphaned(names, alive=lambda pid: pid == live) == names[:2]


def test_reaping_drops_this_host_s_orphan_but_not_another_host_s_nor_one_in_use() -> None:
    require_database("postgresql")
    pid = _dead_pid()
    suffix = uuid.uuid4().hex[:8]
    mine, other, in_use = (
        f"rf_test_{host}_{pid}_{suffix}{n}" for n, host in enumerate((HOST_ID, OTHER_HOST, HOST_ID))
    )
    for name in (mine, other, in_use):
        _admin_execute(f'CREATE DATABASE "{name}"')
    holder = sa.create_engine(_pg_url(in_use), poolclass=sa.NullPool)
    try:
        with holder.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            drop_orphans()
            admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
            try:
                with admin.connect() as c:
                    left = set(
                        c.execute(
                            sa.text("SELECT datname FROM pg_database WHERE datname IN (:a, :b, :c)"),
                            {"a": mine, "b": other, "c": in_use},
                        ).scalars()
                    )
            finally:
                admin.dispose()
        assert left == {other, in_use}
    finally:
        holder.dispose()
        for name in (mine, other, in_use):
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
