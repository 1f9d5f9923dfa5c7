"""slate.providers: see docs/architecture.md for what the folder holds and may import."""

if __name__ != "slate.providers":   # the folder is slate/providers (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.providers, not {__name__}: providers/ is slate's providers package (slate/providers)")
