"""Exceptions. One root, :class:`AntreError`; leaves also inherit the matching builtin."""


class AntreError(Exception):
    """Root of every error Antre raises on purpose."""


class ConfigError(AntreError, ValueError):
    """The configuration file (or a flag) is invalid. The message names file, key and fix."""


class CommandError(AntreError):
    """A command was refused. ``code`` is the snake_case code sent in the error reply; ``details``
    (optional, JSON-able) are facts the sender may show, such as the time a check-in opens."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or None


class BadRequest(CommandError, ValueError):
    """The payload itself is malformed (bad JSON, wrong type, missing field)."""


class NotFound(CommandError, LookupError):
    """A named service, counter or ticket does not exist."""


class Forbidden(CommandError, PermissionError):
    """The sender's role or configuration does not allow this command (e.g. another counter's button)."""


class Conflict(CommandError):
    """The command is well formed but the queue's state does not allow it now."""


class VoiceError(AntreError):
    """Speech cannot be made or played (bad input, missing program or clips, no audio player)."""


class DatabaseUnavailable(AntreError):
    """An existing database cannot be opened for reading (missing, unreadable, or not Antre's)."""
