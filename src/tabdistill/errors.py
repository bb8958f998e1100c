"""The exception types users see: a bad input or an impossible option, and a run that diverged."""


class TabdistillError(ValueError):
    """A problem with the user's input, reported as one line (the CLI exits with code 2)."""


class DivergedError(TabdistillError):
    """A distillation whose outer loss, objects or learning rates stopped being finite: its
    numbers mean nothing, so no result is returned (the CLI exits with code 3)."""
