"""Errors that dynlp reports to users as one line (the CLI prints them and exits with status 2)."""


class DynlpError(Exception):
    """Base class: the message alone must tell the user what went wrong and where."""


class DataError(DynlpError):
    """Unreadable or malformed input data; the message names the file and line."""


class ModelDirError(DynlpError):
    """A model directory that is missing, damaged, or not a dynlp model."""


class ConfigError(DynlpError):
    """Settings that cannot work together, or a DyNet that cannot do what was asked."""


class TrainingError(DynlpError):
    """Training had to stop (for example the loss became NaN); the best model is kept."""
