"""The test suite's session memo (media/session_memo.py): one making per inputs, a changed byte
or argument made again, a failure never kept, and the local judge's verdict the same through it."""
from __future__ import annotations

from pathlib import Path

import pytest

from slate.media import session_memo


def _entries(memo: Path) -> list[Path]:
    return sorted(p for p in memo.iterdir() if not p.name.startswith(".part-"))


def test_the_same_files_and_arguments_are_made_once_and_a_changed_byte_again(tmp_path, monkeypatch):
    memo = tmp_path / "memo"
    monkeypatch.setenv(session_memo.MEMO, str(memo))
    source = tmp_path / "a.bin"
    source.write_bytes(b"one")
    made: list[int] = []

    def make() -> dict:
        made.append(1)
        return {"size": len(source.read_bytes()), "n": len(made)}

    first = session_memo.kept("t", (1, "x"), [source], make, dict, dict)
    again = session_memo.kept("t", (1, "x"), [source], make, dict, dict)
    assert first == again == {"size": 3, "n": 1} and len(made) == 1 and len(_entries(memo)) == 1
    session_memo.kept("t", (2, "x"), [source], make, dict, dict)      # another argument
    source.write_bytes(b"two")
    session_memo.kept("t", (1, "x"), [source], make, dict, dict)      # another byte
    assert len(made) == 3 and len(_entries(memo)) == 3


def test_without_a_memo_every_call_makes_and_a_failure_is_never_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(session_memo.MEMO, raising=False)
    made: list[int] = []
    for _ in range(2):
        session_memo.kept("t", (), [], lambda: made.append(1) or [], list, list)
    assert len(made) == 2
    memo = tmp_path / "memo"
    monkeypatch.setenv(session_memo.MEMO, str(memo))

    def fails() -> list:
        made.append(1)
        raise ValueError("unreadable")
    for _ in range(2):
        with pytest.raises(ValueError):
            session_memo.kept("t", (), [tmp_path / "absent.png"], fails, list, list)
    assert len(made) == 4 and (not memo.exists() or _entries(memo) == [])


def test_the_local_judges_verdict_through_the_memo_is_the_one_it_gives_without(tmp_path, monkeypatch):
    from benchmarks.judge_trials import panel_requests
    from slate.manifests import write_example_film
    from slate.providers.base import ReferenceImages
    from slate.providers.local import LocalImage
    from slate.providers.local_judge import LocalJudge
    from slate.providers.storage_local import LocalStorage

    root = tmp_path / "film"
    write_example_film(root)
    storage = LocalStorage(root)
    request = panel_requests(root)[0]
    panel = tmp_path / "panel.png"
    LocalImage(storage).draw(request).save(panel)
    refs = ReferenceImages(storage.open_local(request.plate_uri),
                           {c.id: storage.open_local(c.turnaround_uri) for c in request.characters})
    monkeypatch.delenv(session_memo.MEMO, raising=False)
    plain = LocalJudge().judge_panel(panel, request, refs)
    memo = tmp_path / "memo"
    monkeypatch.setenv(session_memo.MEMO, str(memo))
    book = tmp_path / "book.jsonl"
    judge = LocalJudge(book=book)
    kept = [judge.judge_panel(panel, request, refs, client_ref=f"call-{i}") for i in range(2)]
    assert kept[0] == kept[1] == plain
    assert [p.name.split("-")[1] for p in _entries(memo)] == ["panel"]
    assert len(judge.judgements()) == 2    # the judge's own book holds every request asked
