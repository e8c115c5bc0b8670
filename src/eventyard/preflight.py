"""Checks a command makes before it starts, so a taken port is a sentence, not a traceback
from deep inside a web server's start-up."""

from __future__ import annotations

import socket

from eventyard.errors import ConfigError


def check_port_free(host: str, port: int, where: str) -> None:
    """ConfigError naming the port (and the setting or flag `where` it came from) when
    something already listens on it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} on {host} ({where}) is not free: {exc.strerror}; stop what "
                "holds it or choose another port"
            ) from None
