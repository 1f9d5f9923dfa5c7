"""slate.deployments: see docs/architecture.md for what the folder holds and may import."""

if __name__ != "slate.deployments":   # the folder is slate/deployments (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.deployments, not {__name__}: deployments/ is slate's deployments package (slate/deployments)")
