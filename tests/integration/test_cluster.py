"""The embedded cluster starts wherever the checkout lives, even where the server user
cannot reach (a clone under a mode-700 home directory, when running as root)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.db.cluster import LocalCluster, free_port


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback only applies when running as root")
def test_cluster_in_directory_the_server_user_cannot_reach() -> None:
    private = Path(tempfile.mkdtemp(prefix="hub-private-", dir="/tmp"))  # mode 700
    cluster = LocalCluster(root=private / "project" / ".hub", port=free_port(), fsync=False)
    try:
        assert not str(cluster.pgdata).startswith(str(private))
        cluster.start()
        engine = create_engine(cluster.url("postgres"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        engine.dispose()
        assert cluster.password_file.parent == private / "project" / ".hub"
        server_files = cluster.pgdata.parent
        cluster.destroy()
        assert not server_files.exists() and not cluster.root.exists()
    finally:
        cluster.stop()
        shutil.rmtree(private, ignore_errors=True)
