"""The documentation site builds strictly, and its reference pages cover the code.

`mkdocs build --strict` (mkdocs.yml's `validation:` makes a page left out of the navigation, a
broken or unrecognised relative link and a missing anchor warnings, so errors here) runs with this
venv's mkdocs from the repository root into a temporary folder. The command-line and settings
pages are generated at build time (docs/hooks/reference.py); this test reads what they must name
from the code itself: every top-level command of the typer app, every field of Settings.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).parent / "mkdocs"


def test_the_site_builds_strictly_and_its_reference_pages_cover_the_code(tmp_path):
    import typer

    from slate.cli import app
    from slate.manifests.settings import Settings

    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}   # Material's banner about MkDocs 2: noise in a failure
    done = subprocess.run([str(MKDOCS), "build", "--strict", "--site-dir", str(site)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"

    cli = (site / "reference" / "cli" / "index.html").read_text()
    group = typer.main.get_command(app)
    commands = group.list_commands(group.context_class(group, info_name="slate"))
    assert len(commands) >= 10, commands
    missing = [name for name in commands if f'id="slate-{name}"' not in cli]
    assert not missing, f"the CLI reference has no section for: {missing}"

    settings = (site / "reference" / "settings" / "index.html").read_text()
    missing = [name for name in Settings.model_fields if f'id="setting-{name}"' not in settings]
    assert not missing, f"the settings reference has no row for: {missing}"
