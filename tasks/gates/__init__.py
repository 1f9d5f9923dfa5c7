"""The gates: what a take, a cut, a chain or a reference is held to before money follows it (the panel
gate, the keyframe gate, drift, continuity, the reference gate), what each is given and what it
returns, and the one way a pass's own check (the upscale check, the swap and sync gates) writes its
reading into the ledger."""
