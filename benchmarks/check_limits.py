"""What `slate check` costs on inputs built to be expensive: wall time and peak memory.

Each project is written to a temporary folder, then `slate check` runs on it in its own
process (`python -m slate.cli check DIR`); its peak RSS is that process's own, read from
os.wait4's rusage by a lean launcher that forked it. The corpus of bad inputs (tests/bad_inputs.py) runs in one process, in
process like the test does, and reports its total and its slowest case.

    .venv/bin/python -m benchmarks.check_limits

Prints what it measured. It must never write outside its temporary folder.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from slate.manifests import write_example_film
from slate.manifests.load import MAX_MANIFEST_BYTES, MAX_SHOTS

REPO = Path(__file__).resolve().parent.parent
SCENE = "scenes/scene-01.yaml"


def _kib_to_mib(kib: int) -> float:
    return kib / 1024  # Linux reports ru_maxrss in KiB


# A lean launcher forks the measured process and reports its rusage. Linux carries the peak RSS
# of a process's image before exec() into the exec'd program's figure, so forking straight from
# this (big) process would report our own size; the launcher is a bare interpreter (~10 MB).
_LAUNCHER = """
import os, sys, time
out = sys.argv[1]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{time.perf_counter() - started} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def measure(args: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB, exit code, first stderr line) of one process running
    ``python *args``, forked by the lean launcher and waited for with os.wait4."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as report:
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, report.name, *args], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        wall, maxrss, code = report.read().split()
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    return float(wall), _kib_to_mib(int(maxrss)), int(code), (lines[0] if lines else "")


# --- the projects -------------------------------------------------------------------------------


def oversized_manifest(root: Path) -> str:
    """The scene file grown to 50 MB of real YAML (comments after its shots)."""
    line = "# " + "a director's notes on the scene, pasted in by mistake " * 2 + "\n"
    with open(root / SCENE, "a", encoding="utf-8") as f:
        f.write(line * (50_000_000 // len(line)))
    return f"scene file of {(root / SCENE).stat().st_size / 1e6:.0f} MB"


def alias_bomb(root: Path) -> str:
    """A billion laughs as the first shot's props: 9 levels of 9 aliases, 9^9 strings once
    expanded, which the schema would validate one by one."""
    sys.path.insert(0, str(REPO / "tests"))
    from bad_inputs import alias_bomb_in_props
    alias_bomb_in_props(root)
    return f"{(root / SCENE).stat().st_size:,} bytes, 9^9 = {9 ** 9:,} props if expanded"


def _shots(n: int, action: str) -> str:
    letters = [chr(65 + j) for j in range(26)]
    suffixes = letters + [a + b for a in letters for b in letters]   # A..Z, AA..ZZ: 702 per number
    ids = (f"{i}{x}" for i in range(1, 1000) for x in suffixes)
    return "".join(f"- {{id: {sid}, characters: [mia], action: {action}, duration: 2}}\n" for _, sid in zip(range(n), ids))


def hundred_thousand_shots(root: Path) -> str:
    (root / SCENE).write_text("id: scene-01\ntitle: Long\nlocation: diner\nshots:\n" + _shots(100_000, "Mia waits."),
                              encoding="utf-8")
    return f"{(root / SCENE).stat().st_size / 1e6:.1f} MB"


def largest_accepted_scene(root: Path) -> str:
    """MAX_SHOTS shots with actions long enough to bring the file just under the size limit."""
    head = "id: scene-01\ntitle: Long\nlocation: diner\nshots:\n"
    per_shot = (MAX_MANIFEST_BYTES - len(head)) // MAX_SHOTS
    action = "Mia waits at the counter" + " and waits" * max(0, (per_shot - 90) // 10)
    (root / SCENE).write_text(head + _shots(MAX_SHOTS, action), encoding="utf-8")
    return f"{MAX_SHOTS} shots, {(root / SCENE).stat().st_size:,} bytes (limit {MAX_MANIFEST_BYTES:,})"


def png_claiming_400_megapixels(root: Path) -> str:
    sys.path.insert(0, str(REPO / "tests"))
    from bad_inputs import png_claiming
    key = root / "locations" / "street" / "street_plate_APPROVED.png"
    key.write_bytes(png_claiming(20_000, 20_000))
    return f"plate of {key.stat().st_size} bytes whose header says 20000x20000"


PROJECTS = [
    ("example film (clean)", lambda root: "9 shots, 7 references decoded"),
    ("oversized manifest", oversized_manifest),
    ("alias bomb", alias_bomb),
    ("100k-shot scene", hundred_thousand_shots),
    ("largest accepted scene", largest_accepted_scene),
    ("400-megapixel PNG header", png_claiming_400_megapixels),
]


# --- the corpus, in one process -------------------------------------------------------------------


def corpus_worker(master: Path, work: Path) -> None:
    """Run every corpus case in this process; print count, total, slowest, peak RSS."""
    sys.path.insert(0, str(REPO / "tests"))
    from typer.testing import CliRunner

    from bad_inputs import cases
    from slate.cli import app

    runner = CliRunner()
    runner.invoke(app, ["check", str(master)])  # warm-up: lazy imports are not a case's cost
    timings = []
    started = time.perf_counter()
    for i, case in enumerate(cases()):
        root = work / f"case-{i}" / "film"
        shutil.copytree(master, root, symlinks=True)
        case.mutate(root)
        t = time.perf_counter()
        result = runner.invoke(app, ["check", str(root), *case.args], env=case.env or None)
        timings.append((time.perf_counter() - t, case.name, result.exit_code))
        shutil.rmtree(root.parent, ignore_errors=True)
    total = time.perf_counter() - started
    slowest = max(timings)
    refused = sum(1 for _, _, code in timings if code == 1)
    print(f"{len(timings)}\t{refused}\t{total:.2f}\t{sum(t for t, _, _ in timings):.2f}\t{slowest[0]:.3f}\t{slowest[1]}",
          file=sys.stderr)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--corpus-worker":
        corpus_worker(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    with tempfile.TemporaryDirectory(prefix="slate-check-limits-") as tmp:
        tmp = Path(tmp)
        master = write_example_film(tmp / "master")
        print(f"slate check, one process each ({sys.executable}; {os.cpu_count()} CPUs)")
        print(f"{'input':<28} {'wall s':>7} {'peak RSS MiB':>13} {'exit':>5}  what / first line of output")
        for name, build in PROJECTS:
            root = tmp / name.replace(" ", "-") / "film"
            shutil.copytree(master, root)
            what = build(root)
            wall, rss, code, line = measure(["-m", "slate.cli", "check", str(root)])
            print(f"{name:<28} {wall:>7.2f} {rss:>13.0f} {code:>5}  {what}")
            if line:
                print(f"{'':<58}{line[:150]}")
            shutil.rmtree(root.parent)
        # The interpreter and imports alone, for scale: what every row above pays before checking.
        wall, rss, code, _ = measure(["-c", "import slate.cli, tasks.run.preflight"])
        print(f"{'(imports only)':<28} {wall:>7.2f} {rss:>13.0f} {code:>5}")

        wall, rss, code, line = measure(["-m", "benchmarks.check_limits", "--corpus-worker", str(master),
                                         str(tmp / "corpus")])
        count, refused, total, checks, slowest, slowest_name = line.split("\t")
        print(f"\ncorpus: {count} bad inputs, {refused} refused with exit 1, in one process (exit {code}): "
              f"{checks} s in `slate check` itself, {total} s with making the cases, {wall:.2f} s with start-up; "
              f"slowest case {slowest} s ({slowest_name}); peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
