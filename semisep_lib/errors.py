"""Errors a user can cause, each with its own exit code.

The CLI catches :class:`SemisepError` and prints its message as one sentence on stderr, then exits with
``exit_code``; anything else is a bug and keeps its traceback. The codes are documented in README.md.
"""


class SemisepError(Exception):
    """Base class: a problem the user can fix. ``str(err)`` is the sentence shown to them."""

    exit_code = 1


class UsageError(SemisepError):
    """Bad command-line arguments or configuration values."""

    exit_code = 2


class DataError(SemisepError):
    """A dataset root is missing, empty, laid out wrongly, or a split is not disjoint."""

    exit_code = 3


class AudioError(SemisepError):
    """An audio file is missing, unreadable, empty, or holds NaN/inf samples."""

    exit_code = 4


class CheckpointError(SemisepError):
    """A checkpoint is missing, truncated, from another program, or from an incompatible configuration."""

    exit_code = 5


class TrainingError(SemisepError):
    """Training diverged (a loss became NaN or inf); the last good checkpoint is kept."""

    exit_code = 6


class LockError(SemisepError):
    """Another command is already writing to the same run directory."""

    exit_code = 7
