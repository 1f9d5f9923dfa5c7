"""Every stage's version string, in one place the can and the reel can read without Prefect.

A stage's cache key starts with its version (tasks/run/cache.py); a scene's and a film's key holds
them all (tasks/run/can.py, tasks/run/reel.py). Bump a stage's string when its output for the same
inputs would change: every take, scene and film made by the old one is then made again.

It must never import Prefect or a stage module: the reel reads it before Prefect starts.
"""
from __future__ import annotations

REFERENCE_VERSION = "reference-gate-v4"  # v2: the content check (a blank sheet or plate); v3: a typed verdict (tasks/gates/verdicts.py); v4: the local judge reads the outfit against the words
PANEL_VERSION = "panel-take-v2"
GATE_VERSION = "panel-gate-v6"  # v4: the content check; a bounded grade; each figure's colours; v5: a typed verdict; v6: text-like marks (issue 36)
VIDEO_VERSION = "video-take-v2"
KEYFRAME_VERSION = "keyframe-gate-v15"  # v15 (issue 56): a stutter read where the move is measured brisk, its luma steps uneven or not; v14: frames dropped read on the picture's measured move; v13: frames dropped, a stutter named as one, a colour turning within the clip; v4: each keyframe's content, a bounded grade; v5: the whole clip; who is in it; v6: who stands before the plate; v7: a typed verdict; v8: each figure of the first frame held to the start image; v9: the clip's format first, frame to frame (repeats, a stop, a jump), each one's colours across the clip, presence after levelling exposure; a chained clip's people held to the bible; v10: text-like marks (media/marks.py); v11: each named one's signature colours held to their turnaround's hue (media.presence clip_likeness); v12: and in the picture the clip started from (a grade that clips a light colour in the clip cannot hide a chain's drift)
CONTINUITY_VERSION = "continuity-v4"  # v3: the content check of both frames; colours per figure; v4: a typed verdict
DRIFT_VERSION = "drift-v10"  # v10: each character, the light and the framing against the bible; v6: a blank frame; v7: sharpness and each character's presence beside SSIM and colour; v8: foreground members; v9: a typed reading (tasks/gates/verdicts.py)
STITCH_VERSION = "stitch-v2"  # v2: a typed result (tasks/edit/results.py StitchResult): a v1 record is a dict
PANEL_EDIT_VERSION = "panel-edit-v1"  # issue 24: one step of a shot's recipe of single edits
FINISH_VERSION = "finish-v3"  # issue 23: the finishing pass (mix, grade, loudness, deliverables); v2: a typed result; v3: every picture converted to BT.709 and tagged, the mezzanine made by the pass itself (issue 39)
SPEECH_VERSION = "speech-take-v1"  # issue 37: one line of dialogue spoken through the governor
VOICE_GATE_VERSION = "voice-gate-v2"  # v2 (issue 56): timbre (another voice at the same pitch) from 0.75 s of voiced speech, syllables heard (a fast line is not cut); issue 37: a spoken line against its speaker's reference sample (media/voiceprint.py judge_line), and against its shot's length
SUBTITLES_VERSION = "subtitles-v1"  # issue 37: a scene's lines as .srt/.vtt and a mov_text stream in its cut
LIPSYNC_VERSION = "lipsync-v1"  # issue 38: a shot's clip and its on-camera lines through a lip-sync model
SYNC_GATE_VERSION = "sync-gate-v1"  # issue 38: the speaker's mouth against the line's envelope (media/lipsync.py)
UPSCALE_VERSION = "upscale-take-v1"  # issue 41: an approved take through an upscale model, after a person's approval
UPSCALE_CHECK_VERSION = "upscale-check-v1"  # issue 41: the upscaled clip's size, rate, frames and length, and scaled back down, the take (media/upscale.py)
FACESWAP_VERSION = "faceswap-v1"  # issue 41: one character's face in a finished clip swapped for their approved one
SWAP_GATE_VERSION = "swap-gate-v4"  # v4 (issue 56): a rim of the old face is a thin band along the mended face, not a thick stretch of the set in its colour; v3 (issue 56): a face presence lost in the clip looked for where it finds them in the swap; a face is the patch its hair crowns; a half swap fails its left frames; v2 (issue 56): the face found near presence's figure, frame by frame and by its features (media/face_match.py); issue 41: the swap held to the clip: only that face changed, nearer its approved one
MUSIC_VERSION = "music-take-v1"  # issue 59: one cue made to a brief through the governor (tasks/edit/music.py)
