"""The root of every error slate raises."""


class SlateError(Exception):
    """Anything slate raises on purpose."""
