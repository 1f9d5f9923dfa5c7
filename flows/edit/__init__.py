"""The scene flow's edit: its cuts as clips land, the music made to them, and the finishing after the
stitch."""
