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


def test_text_orders_by_code_point_and_classifies_as_cjk(db_url: str) -> None:
    """The embedded cluster orders text by bytes (code points, what C.UTF-8 collates by, and
    compared with memcmp) while its character classes still know kana, kanji and
    full-width letters: ``lower()`` and trigrams see them as letters."""
    words = ["b", "B", "あ", "ア", "ｱ", "亜", "a", "Ａ", "ä", "阿", "10", "9"]
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            collate, ctype = conn.execute(text(
                "SELECT datcollate, datctype FROM pg_database "
                "WHERE datname = current_database()")).one()
            assert (collate, ctype) == ("C", "C.UTF-8")
            ordered = conn.execute(text(
                "SELECT w FROM unnest(CAST(:w AS text[])) AS w ORDER BY w"),
                {"w": words}).scalars().all()
            assert ordered == sorted(words)  # Python's str order is code point order
            assert conn.execute(text("SELECT lower('ＡＢＣ Ä')")).scalar_one() == "ａｂｃ ä"
            trigrams = conn.execute(text("SELECT show_trgm('練馬区')")).scalar_one()
            assert len(trigrams) == 4  # "  練", " 練馬", "練馬区", "馬区 ": a word, not dropped
    finally:
        engine.dispose()
