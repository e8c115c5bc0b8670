"""`eventyard --help` speaks to users: what the tool does and each command's purpose; and
`eventyard COMMAND --help` works for every command."""

from __future__ import annotations

import pytest

from eventyard import cli


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(argv))
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_describes_the_tool_and_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _help(capsys, "--help")
    assert out.startswith("usage: eventyard")
    assert "routes B2B product-analytics events" in out
    for name, (_, purpose) in cli.COMMANDS.items():
        assert f"  {name} " in out and purpose in out, name
    # Not the module's notes for developers.
    assert "imported lazily" not in out and "faust" not in out


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_command_has_its_own_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys, name, "--help")
    assert out.startswith(f"usage: eventyard {name}")
    purpose = cli.COMMANDS[name][1]
    assert purpose[:1].upper() + purpose[1:] in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    assert exit_.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
