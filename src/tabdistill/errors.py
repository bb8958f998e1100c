"""The one exception type users see: a bad input or an impossible option."""


class TabdistillError(ValueError):
    """A problem with the user's input, reported as one line (the CLI exits with code 2)."""
