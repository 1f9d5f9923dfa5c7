"""Render profiles: what resolution a run draws and animates at, and what it needs first.

A plain table, so estimates, tasks and the stitch agree on sizes. It must never depend on a
provider: a profile names a resolution, and rate cards price that resolution.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    resolution: str        # the label rate cards price by
    width: int
    height: int
    needs_approval: bool   # final: a human approves panels before any video is paid for
    hero_resolution: str | None = None  # hero: critical shots go up to this

    def for_shot(self, critical: bool) -> tuple[str, int, int]:
        """(resolution, width, height) of one shot's clip under this profile."""
        if critical and self.hero_resolution:
            return RESOLUTIONS[self.hero_resolution]
        return self.resolution, self.width, self.height


RESOLUTIONS = {"480p": ("480p", 854, 480), "720p": ("720p", 1280, 720), "1080p": ("1080p", 1920, 1080)}

PROFILES = {
    "draft": Profile("draft", "480p", 854, 480, needs_approval=False),
    "final": Profile("final", "720p", 1280, 720, needs_approval=True),
    "hero": Profile("hero", "720p", 1280, 720, needs_approval=True, hero_resolution="1080p"),
}


def render_stem(scene: str, profile: str) -> str:
    """What a scene's files of one profile are named by in renders/: its cut `<stem>.mp4` (a
    partial one `<stem>.partial-N-of-M.mp4`) and its contact sheet `<stem>-contact.png`."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{scene}-{profile}".lower())
