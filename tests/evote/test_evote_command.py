"""Every role's subcommand loads and explains itself (the groups are imported lazily)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from evote.cli.main import COMMANDS, main


def test_top_level_help_lists_every_role() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_has_useful_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and len(result.output.splitlines()) > 4


def test_an_unknown_subcommand_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["vote-twice"])
    assert result.exit_code == 2 and "No such command" in result.output
