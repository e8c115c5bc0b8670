"""The one exception tree. Pure code raises these; the CLI turns them into exit codes."""

from __future__ import annotations


class EventyardError(Exception):
    """Base of every error eventyard raises on purpose."""


class PolicyError(EventyardError):
    """A routing policy failed to load; `problems` holds every finding, not just the first."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class PolicyProblem:
    """One finding in a policy file, rendered as `FILE:LINE: PATH: message`."""

    __slots__ = ("file", "line", "message", "path")

    def __init__(self, file: str, line: int, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.path or '<root>'}: {self.message}"

    def __repr__(self) -> str:
        return f"PolicyProblem({self.render()!r})"


class ConfigError(EventyardError):
    """A setting or deployment file is wrong."""


class BrokerError(EventyardError):
    """The local Tansu broker could not be started or reached."""
