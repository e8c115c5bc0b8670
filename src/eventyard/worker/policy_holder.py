"""The policy the hot path routes with, swappable as one reference assignment.

A batch reads `.current` once and routes every record of the batch with that version, so a
reload (a later file-watch task) takes effect between batches, never inside one.
"""

from __future__ import annotations

from eventyard.policy.compiled import CompiledPolicy


class PolicyHolder:
    __slots__ = ("_current",)

    def __init__(self, policy: CompiledPolicy) -> None:
        self._current = policy

    @property
    def current(self) -> CompiledPolicy:
        return self._current

    def swap(self, policy: CompiledPolicy) -> CompiledPolicy:
        """Install `policy`; returns the one it replaced."""
        previous, self._current = self._current, policy
        return previous
