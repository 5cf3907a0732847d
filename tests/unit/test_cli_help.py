"""`brx-sync --help` is enough to run the service: every command and option explains itself,
with its default, and every command says which environment variables it reads."""

from __future__ import annotations

import argparse

import pytest

from brx_app.cli import build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    assert isinstance(action, argparse._SubParsersAction)
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_has_help_with_its_default_and_the_command_names_its_environment(
    name: str,
) -> None:
    command = _commands()[name]
    text = command.format_help()

    options = [a for a in command._actions if not isinstance(a, argparse._HelpAction)]
    assert all(a.help for a in options), [a.dest for a in options if not a.help]
    for action in options:
        if action.option_strings and action.default is not None:
            assert f"(default: {action.default})" in " ".join(text.split())
    assert "environment:" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])

    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("brx-sync ")
