"""A writer killed mid-write leaves its temporary file (`.<name>.<pid>.<random>.part`) beside
where the whole file would have gone; the next run's sweep removes it, and never a live
writer's. Found by the crash matrix: a run SIGKILLed while the local painter wrote a panel left
`.slate/artifacts/…/.<sha>.png.<random>.part` for good, once each writer had a name of its own.

Real processes, really killed: each writer is a child blocked inside its write.
"""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

# A writer of the store's own (storage_local._atomic, what put_file and copy_atomic use) that
# stops half way through its file and says so.
WRITER = """
import sys, time
from pathlib import Path
import slate.providers.storage_local as store

def write(out):
    out.write(b"half a panel"); out.flush()
    print("writing", flush=True)
    time.sleep(120)

store._atomic(Path(sys.argv[2]), write)
"""


def _writer(src: Path, dest: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(src), str(dest)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_a_killed_writers_temporary_file_is_swept_and_a_live_writers_is_not(tmp_path):
    from slate.flows.run.call_sheet import sweep_scratch
    from slate.providers.storage_local import sweep_orphans

    store = tmp_path / ".slate" / "artifacts" / "b7"
    src = tmp_path / "panel.png"
    src.write_bytes(b"a panel")
    killed = _writer(src, store / "b73d.png")
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    live = _writer(src, tmp_path / "renders" / "scene-01-draft.mp4")
    try:
        left = sorted(p.name for p in tmp_path.rglob("*.part"))
        assert len(left) == 2, left
        assert f".b73d.png.{killed.pid}." in left[0]
        (store / ".old.png.k7szun_i.part").write_bytes(b"?")   # an older slate's name: no pid, left alone
        sweep_scratch(tmp_path, keep="run-2")
        after = sorted(p.name for p in tmp_path.rglob("*.part"))
        assert after == sorted([".old.png.k7szun_i.part", left[1]]), after   # the live writer's is still there
        assert not (store / "b73d.png").exists()
        assert sweep_orphans(tmp_path) == 0
    finally:
        live.kill()
        live.wait(10)
    assert sweep_orphans(tmp_path) == 1   # its writer gone now, the live one's file is garbage too


# A run that renders with ffmpeg (its scratch named by media.scratch_beside, as the stitch, the
# finishing pass and the film's join name theirs) and is killed before the rename.
FFMPEG_WRITER = """
import sys, time
from pathlib import Path
from slate.media import scratch_beside

part = scratch_beside(Path(sys.argv[1]))
part.parent.mkdir(parents=True, exist_ok=True)
part.write_bytes(b"half a film")
print("writing", flush=True)
time.sleep(120)
"""


def test_a_killed_runs_ffmpeg_scratch_and_download_are_swept_by_the_next(tmp_path):
    """Issue 35: after a run killed during the stitch, a 1 MB `..night-diner-draft.….film-part.…
    .part.mp4` sat in renders/ for good, and killed downloads left `.part.mp4` files in
    .slate/downloads/: their names carried no writer's pid, so the sweep could not tell them."""
    from slate.flows.run.call_sheet import sweep_scratch

    killed = subprocess.Popen([sys.executable, "-c", FFMPEG_WRITER, str(tmp_path / "renders" / "night-diner-draft.mp4")],
                              stdout=subprocess.PIPE, text=True)
    assert killed.stdout.readline().strip() == "writing"
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    # A download of the dead run's, named as governor/chokepoint names one (its pid, then .part.<ext>).
    downloads = tmp_path / ".slate" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / f".0b5c-call.{killed.pid}.3f9a2c1d7e6b.part.mp4").write_bytes(b"half a clip")
    left = sorted(p.name for p in tmp_path.rglob(".*.part.*"))
    assert len(left) == 2 and all(f".{killed.pid}." in name for name in left), left
    sweep_scratch(tmp_path, keep="run-2")
    assert sorted(p.name for p in tmp_path.rglob(".*part*")) == []


# A writer's scratch folder (storage_local.temp_folder_beside: the local provider's faulty clip is
# animated from frames kept in one beside the download), killed before its `with` ended.
FOLDER_WRITER = """
import sys, time
from pathlib import Path
from slate.providers.storage_local import temp_folder_beside

with temp_folder_beside(Path(sys.argv[1])) as work:
    (Path(work) / "frame-001.png").write_bytes(b"a frame")
    print("writing", flush=True)
    time.sleep(120)
"""


def test_a_killed_writers_temporary_folder_is_swept_and_a_live_writers_is_not(tmp_path):
    from slate.flows.run.call_sheet import sweep_scratch
    downloads = tmp_path / ".slate" / "downloads"
    downloads.mkdir(parents=True)

    def writer(name: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", FOLDER_WRITER, str(downloads / name)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "writing"
        return proc
    killed, live = writer("1C-take-1.mp4"), writer("1D-take-1.mp4")
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    try:
        folders = sorted(p.name for p in downloads.iterdir())
        assert len(folders) == 2 and all(f.endswith(".part") for f in folders), folders
        sweep_scratch(tmp_path, keep="run-2")
        assert [p.name for p in downloads.iterdir()] == [f for f in folders if f".{live.pid}." in f]
    finally:
        live.kill()
        live.wait(10)
