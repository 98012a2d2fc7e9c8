"""Exceptions for problems a user can fix.

Library code raises these (or the built-in ``ValueError``, ``FileNotFoundError``, ``FileExistsError``) with a message
that names the offending value and the fix. Only the CLI turns them into a one-line message and an exit status.
"""


class SpecvaeError(Exception):
    """Base class: an error caused by input, configuration or environment, not by a bug."""


class InputError(SpecvaeError, ValueError):
    """An input file or value cannot be used (wrong format, missing column, empty, ...)."""


class DeviceError(SpecvaeError, RuntimeError):
    """The requested compute device is not available (for example ``--gpu 1`` on a machine with one GPU)."""


class CheckpointError(SpecvaeError, ValueError):
    """A model run directory is incomplete or incompatible (architecture, fingerprint version)."""
