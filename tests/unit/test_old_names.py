"""What a film made before the modules moved into rooms is still read (tasks/run/moved.py).

A cached task result names its type by module, as Prefect's JSON serializer writes it; a result
written before 2026-11-30 names the old module (`slate.tasks.verdicts.PanelVerdict`). Each stored
type, written by Prefect's own serializer and its module name put back to the old one, must read
as the type the code checks for today — without the old names the scene run failed ("'dict' object
has no attribute 'model_copy'") where it should have reused what was made. And no code of ours
imports an old name: the map is for what was written down.
"""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest
from prefect.serializers import JSONSerializer

from slate.tasks.run.moved import MOVED, OldNames

ROOT = Path(__file__).resolve().parents[2]


#: The types the example film's cached task results name (grep "__class__" in its .slate/results):
#: each stage's result that is a model rather than a URI.
STORED = ("slate.tasks.gates.verdicts.PanelVerdict", "slate.tasks.gates.verdicts.KeyframeVerdict",
          "slate.tasks.gates.verdicts.ContinuityVerdict", "slate.tasks.gates.verdicts.ReferenceVerdict",
          "slate.tasks.gates.verdicts.DriftReading", "slate.tasks.shot.speech.SpokenTake",
          "slate.tasks.shot.lipsync.LineSync", "slate.tasks.edit.music.MadeTake",
          "slate.tasks.edit.results.FinishResult", "slate.tasks.edit.subtitles.SubtitledCut")
#: a value of each field type those results hold, for the smallest valid instance
SAMPLE = {"str": "x", "float": 0.5, "int": 2, "bool": True, "tuple[float, float]": (0.0, 1.5),
          "float | None": None}


def _made(path: str):
    module, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    fields = {}
    for field, info in cls.model_fields.items():
        if info.is_required():
            kind = getattr(info.annotation, "__name__", None) if isinstance(info.annotation, type) else str(info.annotation)
            fields[field] = SAMPLE[kind]
    made = cls(**fields)
    if name.endswith("Verdict"):   # with a score inside: a nested model keeps its own name too
        from slate.tasks.gates.verdicts import GateScore
        made = made.model_copy(update={"scores": [GateScore(name="likeness", value=0.9, threshold=0.5, passed=True)]})
    return made


def _old_name(module: str) -> str:
    [old] = [old for old, new in MOVED.items() if new == module]
    return old


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.rsplit(".", 1)[1])
def test_a_result_written_under_the_old_module_name_reads_as_todays_type(path):
    made = _made(path)
    serializer = JSONSerializer()
    written = serializer.dumps(made)
    today = f"{type(made).__module__}.{type(made).__qualname__}"
    assert today.encode() in written, written          # Prefect names the type by its module
    # as a result stored before the rooms names it: the old module and the name it had there (a
    # speech take's `SpokenTake`, now one `MadeSound` with the music's `MadeTake`)
    module, name = path.rsplit(".", 1)
    if name == type(made).__qualname__ and module == type(made).__module__:   # nested models renamed too
        before_the_move = written.replace(module.encode(), _old_name(module).encode())
    else:
        before_the_move = written.replace(today.encode(), f"{_old_name(module)}.{name}".encode())
    read = serializer.loads(before_the_move)
    assert type(read) is type(made) and read == made


def test_an_old_name_is_the_module_itself_and_says_where_it_lives():
    old, new = "slate.tasks.verdicts", "slate.tasks.gates.verdicts"
    assert MOVED[old] == new
    assert importlib.import_module(old) is importlib.import_module(new)
    assert importlib.import_module(new).__spec__.name == new        # its own spec, not the old one
    assert any(isinstance(finder, OldNames) for finder in sys.meta_path)


def test_every_old_name_leads_to_a_module_and_none_is_a_name_in_use():
    for old, new in MOVED.items():
        folder, *rest = old.split(".")[1:]
        assert not (ROOT / folder / f"{rest[0]}.py").exists() and not (ROOT / folder / rest[0]).is_dir(), \
            f"{old} names a module or room that exists: it cannot be mapped"
        assert (ROOT / Path(*new.split(".")[1:])).with_suffix(".py").is_file(), f"{old} -> {new}: no such file"


def _old_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: imports {n} (now {MOVED[n]})"
                  for n in names if n in MOVED]
    return found


def test_no_code_of_ours_imports_an_old_name():
    folders = ("manifests", "media", "providers", "governor", "tasks", "flows", "deployments", "slate",
               "tests", "benchmarks")
    here = Path(__file__).resolve()
    # slate/'s links to the other folders are not followed: each folder is walked once, by its own name
    wrong = [w for folder in folders for path in sorted((ROOT / folder).glob("**/*.py"))
             if path.resolve() != here for w in _old_imports(path)]
    assert not wrong, "\n".join(wrong)


def test_the_old_import_check_sees_each_form(tmp_path):
    (tmp_path / "stage.py").write_text("import slate.tasks.verdicts\n"
                                       "from slate.tasks import speech\n"
                                       "from slate.flows.cuts import cuts_of\n"
                                       "from slate.tasks.gates import verdicts\n"     # today's name
                                       "from slate.tasks.run import can\n")           # today's name
    global ROOT
    kept, ROOT = ROOT, tmp_path
    try:
        assert [w.split(": imports ")[1].split(" ")[0] for w in _old_imports(tmp_path / "stage.py")] == \
            ["slate.tasks.verdicts", "slate.tasks.speech", "slate.flows.cuts"]
    finally:
        ROOT = kept

