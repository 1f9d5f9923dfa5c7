"""One answer to "what is my cap": a run's limits come from what it was told, else the film's
budget block where a person edited it in the Prefect UI, else slate.toml — and the block follows
slate.toml (it is re-saved) until a person edits it. Each value says where it came from, and a
slate.toml value the block outvotes is named (governor/budget.py `resolve_limits`).

The block lives on a real Prefect server (the worker's test server); each test uses its own film
id, so its own block.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from slate.governor.budget import SlateBudget, block_name, resolve_limits
from slate.manifests.settings import project_settings, setting_origin

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _film(tmp_path: Path, toml: str) -> tuple[str, Path]:
    (tmp_path / "slate.toml").write_text(toml, encoding="utf-8")
    return f"cap-{uuid.uuid4().hex[:10]}", tmp_path


def _limits(film_id: str, root: Path, **told):
    return resolve_limits(film_id, project_settings(root), told, origin_of=setting_origin)


def _block(film_id: str) -> SlateBudget:
    return SlateBudget.load(block_name(film_id))


def test_an_edit_to_slate_toml_reaches_the_next_run_and_the_block_follows(tmp_path):
    film_id, root = _film(tmp_path, 'run_cap_usd = "5"\n')
    first = _limits(film_id, root)
    assert first.run_cap_usd == Decimal("5") and first.origins["run_cap_usd"] == "slate.toml: run_cap_usd"
    assert first.film_cap_usd == Decimal("250") and first.origins["film_cap_usd"] == "slate's default"
    assert _block(film_id).run_cap_usd == Decimal("5")          # the first run made the block from slate.toml

    # After the first run, slate.toml is edited: the next run obeys it, and the block shows it.
    (root / "slate.toml").write_text('run_cap_usd = "7.50"\nmax_takes = 4\n', encoding="utf-8")
    second = _limits(film_id, root)
    assert (second.run_cap_usd, second.max_takes) == (Decimal("7.50"), 4)
    assert second.unused == []
    saved = _block(film_id)
    assert (saved.run_cap_usd, saved.max_takes) == (Decimal("7.50"), 4)


def test_a_cap_edited_in_the_ui_stands_and_the_slate_toml_value_it_outvotes_is_named(tmp_path):
    film_id, root = _film(tmp_path, 'run_cap_usd = "5"\n')
    _limits(film_id, root)
    # A person sets the run cap to 3 in the Prefect UI's block form.
    edited = _block(film_id).model_copy(update={"run_cap_usd": Decimal("3")})
    edited.save(block_name(film_id), overwrite=True)

    limits = _limits(film_id, root)
    assert limits.run_cap_usd == Decimal("3")
    assert limits.origins["run_cap_usd"].endswith("edited in the UI"), limits.origins
    [said] = limits.unused
    assert said.startswith("slate.toml: run_cap_usd = 5 is not used") and "edited in the UI to 3" in said
    assert _block(film_id).run_cap_usd == Decimal("3")          # slate never writes over a person's edit

    # Told to a run, a cap outvotes both, for that run only.
    told = _limits(film_id, root, run_cap_usd=Decimal("1.25"))
    assert told.run_cap_usd == Decimal("1.25") and told.origins["run_cap_usd"] == "told to this run"
    assert _block(film_id).run_cap_usd == Decimal("3")
