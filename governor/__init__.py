"""slate.governor: see docs/architecture.md for what the folder holds and may import."""

if __name__ != "slate.governor":   # the folder is slate/governor (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.governor, not {__name__}: governor/ is slate's governor package (slate/governor)")
