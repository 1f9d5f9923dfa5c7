"""Steps the bible-workshop tests share: the CLI called in-process, and a turnaround whose 3/4
view lies (version 1, drawn with the local painter's recolour fault) fixed alone (version 2)."""
from __future__ import annotations

from typer.testing import CliRunner

from slate.cli import app

runner = CliRunner()


def slate(*args, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, f"slate {' '.join(map(str, args))}: {result.output}"
    return result.output


def lying_then_fixed(root, character: str, monkeypatch) -> None:
    """Version 1 of `character`'s sheet with an off-model 3/4 view, version 2 that view fixed."""
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "1")
    monkeypatch.setenv("SLATE_LOCAL_FAULT_KINDS", "recolour")
    slate("bible", "turnaround", root, character)
    monkeypatch.setenv("SLATE_LOCAL_FAULT_RATE", "0")
    slate("bible", "turnaround", root, character, "--fix", "three_quarter", "--from", "1")
