"""A shot's way through a scene flow: its take loops, its lane after the clip, and the passes over its
clip (speech, lip-sync, face swap, upscale)."""
