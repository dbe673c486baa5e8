"""The command line a person reads: help everywhere, and what a bare `crawler` shows."""

import argparse

import pytest

from crawler.cli import build_parser, main


def test_cli_every_command_and_option_has_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        assert command.description, f"crawler {name} has no description"
        for action in command._actions:
            assert action.help, f"crawler {name} {action.option_strings or action.dest} has no help"
    for name in ("run", "scheduler", "worker"):
        assert "example" in (commands.choices[name].epilog or ""), f"crawler {name} --help shows no example"


def test_cli_bare_crawler_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    shown = capsys.readouterr().out
    for name in ("scheduler", "worker", "run", "demo", "keygen", "status", "inspect", "export"):
        assert f"    {name}" in shown
