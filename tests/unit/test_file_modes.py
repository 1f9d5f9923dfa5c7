"""Issue 39: what slate writes is readable as any file the user writes — a render, a clip, a cue,
a history file — not owner-only. The atomic writes' temporary files come from mkstemp (mode
0600, and a name of their own); the file that takes the key's name must carry the mode a plain
open() gives under the process's umask (0644 under 022), or another account, a web server or a
shared drive cannot read what the film made."""
from __future__ import annotations

import os
import stat

import pytest

from slate.providers.storage_local import FILE_MODE, LocalStorage, copy_atomic, write_atomic


@pytest.fixture
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_written_atomically_have_a_plain_files_mode(tmp_path, usual_umask):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"x")
    assert FILE_MODE == _mode(plain) == 0o644    # the test process's umask is 022
    write_atomic(tmp_path / "renders" / "cut.srt", b"1\n")
    copy_atomic(plain, tmp_path / "audio" / "cue.wav")
    store = LocalStorage(tmp_path)
    clip = store.open_local(store.put_bytes(b"\x00" * 64, "mp4"))
    for path in (tmp_path / "renders" / "cut.srt", tmp_path / "audio" / "cue.wav", clip):
        assert _mode(path) == 0o644, (path, oct(_mode(path)))
