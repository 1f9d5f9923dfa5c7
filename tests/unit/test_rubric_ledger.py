"""A vision judge answers the continuity ledger item by item (issue 58, providers/rubric.py): one
required criterion per prop, placed character and the light, each coming back as a `props`,
`blocking` or `light` score whose reason names the thing; a film with no ledger keeps the rubric
it had (same schema, same instructions)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from slate.providers import rubric
from slate.providers.base import CharacterRef, PanelRequest

HELD = {"props": {"order bell": {"side": "left", "state": "on"}},
        "blocking": {"gabe": {"side": "right", "facing": "left"}},
        "light": {"key": "left", "temperature": "warm"}, "since": {"order bell": "1C"}}
BARE = PanelRequest(prompt="Gabe at the counter.", location_id="diner", plate_uri="sha256://p",
                    characters=(CharacterRef(id="gabe", description="d", turnaround_uri="sha256://t"),),
                    framing="medium", angle="eye", movement="static", width=854, height=480, seed=1)


def _answer(model, **items):
    base = {k: {"score": 0.9, "reason": "as the references"} for k in model.model_fields}
    return model(**{**base, **{k: {"score": v, "reason": "seen otherwise"} for k, v in items.items()}})


def test_each_item_of_the_ledger_is_its_own_required_answer():
    held = replace(BARE, continuity=HELD)
    model = rubric.panel_rubric(held)
    assert set(model.model_fields) - set(rubric.PanelRubric.model_fields) == {"prop_order_bell", "char_gabe", "light"}
    text = rubric.panel_instructions(held)
    assert "the order bell, on, frame left" in text and "gabe, frame right, facing frame left" in text
    verdict = rubric.verdict(_answer(model, prop_order_bell=0.2), "gemini")
    failed = [s for s in verdict.scores if not s.passed]
    assert [(s.name, s.reason) for s in failed] == [("props", "order bell: seen otherwise")]
    assert {s.name for s in verdict.scores} >= {"props", "blocking", "light"}
    with pytest.raises(ValidationError):      # an item left unanswered is off the schema, never a pass
        model(**{k: {"score": 1, "reason": "r"} for k in rubric.PanelRubric.model_fields})
    cut = rubric.continuity_rubric(held)
    assert {"prop_order_bell", "char_gabe", "light"} <= set(cut.model_fields)
    assert "first frame after the cut" in rubric.continuity_instructions(held, held)


def test_a_film_with_no_ledger_keeps_its_rubrics():
    assert rubric.panel_rubric(BARE) is rubric.PanelRubric
    assert rubric.continuity_rubric(BARE) is rubric.ContinuityRubric
    assert "ledger" not in rubric.panel_instructions(BARE) + rubric.continuity_instructions(BARE, BARE)
