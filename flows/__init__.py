"""slate.flows: see docs/architecture.md for what the folder holds and may import."""

if __name__ != "slate.flows":   # the folder is slate/flows (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.flows, not {__name__}: flows/ is slate's flows package (slate/flows)")
