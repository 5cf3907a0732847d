"""The two ways a command fails before it starts, in a module of the standard library only, so
the CLI can report them on any install (a core-only `pip install brx-sync` has no pydantic)."""

from __future__ import annotations


class ConfigError(Exception):
    """Missing or malformed settings: one line per bad variable, each naming it."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class StartupError(Exception):
    """A dependency needed to start never answered (after bounded retries): one line for the
    operator and exit status 1 (the settings are fine; the world around them is not yet)."""
