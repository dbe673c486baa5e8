from pathlib import Path

from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.store import UrlStatus


def _state_with_urls(tmp_path: Path, count: int) -> tuple[SqliteStore, list[int]]:
    state = SqliteStore(tmp_path, resume=False, fresh=True)
    ids = [state.add_url(f"http://a.test/{n}", f"http://a.test/{n}", "page", 0, None, 0) for n in range(count)]
    state.commit()  # the rows leave the write-behind buffer: reads now go to SQLite
    return state, ids


def test_state_reads_the_next_rows_of_a_queue_in_one_query(tmp_path: Path) -> None:
    state, ids = _state_with_urls(tmp_path, 10)
    queries = []
    state._db.set_trace_callback(queries.append)
    rows = [state.get_url(url_id, ids[position + 1:]) for position, url_id in enumerate(ids)]
    assert [row.url for row in rows if row] == [f"http://a.test/{n}" for n in range(10)]
    assert len([query for query in queries if query.startswith("SELECT")]) == 1
    state.close()


def test_state_a_row_read_ahead_never_hides_a_later_change(tmp_path: Path) -> None:
    state, ids = _state_with_urls(tmp_path, 4)
    state.lease(state.get_url(ids[2]))  # changed before the read-ahead, not yet written
    assert state.get_url(ids[0], ids[1:]).status == "pending"
    state.commit()  # the change is written and the buffer of changes emptied
    assert state.get_url(ids[2]).status == "leased"
    state.finish(ids[1], UrlStatus.DONE, None, 1)  # changed after the read-ahead
    state.commit()
    assert state.get_url(ids[1]).status == "done"
    assert state.get_url(ids[3]).status == "pending"
    assert state.get_url(10_000) is None
    state.close()


def test_state_resume_of_a_directory_with_no_saved_crawl_is_refused(tmp_path: Path) -> None:
    import pytest

    from crawler.errors import StateError
    with pytest.raises(StateError, match="no saved crawl to resume"):
        SqliteStore(tmp_path / "empty", resume=True, fresh=False)


def test_state_a_crawl_saved_before_found_as_and_words_existed_resumes(tmp_path: Path) -> None:
    import sqlite3
    state = SqliteStore(tmp_path, resume=False, fresh=False)
    state.close()
    db = sqlite3.connect(tmp_path / ".crawler" / "state.sqlite")  # as an earlier version left it
    db.executescript("DROP TABLE urls; CREATE TABLE urls (id INTEGER PRIMARY KEY, canonical TEXT NOT NULL UNIQUE,"
                     " url TEXT NOT NULL, kind TEXT NOT NULL, depth INTEGER NOT NULL, page_url TEXT, hops INTEGER"
                     " NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, reason TEXT);"
                     "INSERT INTO urls VALUES (1, 'http://a.test/x.png', 'http://a.test/x.png', 'image', 1, NULL, 0,"
                     " 'pending', 0, NULL);")
    db.commit()
    db.close()
    resumed = SqliteStore(tmp_path, resume=True, fresh=False)
    assert [(row.url, row.found_as, row.words) for row in resumed.restore()] == [("http://a.test/x.png", None, None)]
    resumed.note_references(["http://a.test/x.png"])
    assert resumed.reference_counts() == {"http://a.test/x.png": 1}
    resumed.close()


def test_state_a_corrupt_state_releases_its_lock_so_fresh_can_start_over(tmp_path: Path) -> None:
    import pytest

    from crawler.errors import StateError
    (tmp_path / ".crawler").mkdir()
    (tmp_path / ".crawler" / "state.sqlite").write_bytes(b"this is not a database, it is a disk error" * 100)
    with pytest.raises(StateError, match="cannot use crawl state") as caught:
        SqliteStore(tmp_path, resume=True, fresh=False)
    kept = caught.value.__traceback__  # a caller that keeps the error keeps the failed object's frame
    state = SqliteStore(tmp_path, resume=False, fresh=True)  # before: "another scheduler is using" it
    assert kept is not None
    state.close()


def test_state_a_newer_schema_is_refused_and_the_lock_released(tmp_path: Path) -> None:
    import pytest

    from crawler.errors import StateError
    state = SqliteStore(tmp_path, resume=False, fresh=False)
    state.set_meta("schema", "99")
    state.close()
    with pytest.raises(StateError, match="is schema 99") as caught:
        SqliteStore(tmp_path, resume=True, fresh=False)
    kept = caught.value.__traceback__
    SqliteStore(tmp_path, resume=False, fresh=True).close()
    assert kept is not None
