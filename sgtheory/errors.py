"""The error types. Each user-facing one carries a one-line message; the CLI prints it and exits with status 2."""


class ConfigError(ValueError):
    """A config value or file is invalid."""


class DataError(ValueError):
    """A data file is missing or malformed (or its reader is not installed)."""


class TargetError(ValueError):
    """The spike-matching target image cannot be read or holds no usable raster."""


class ResultsError(ValueError):
    """A problem with an output path or a stored table."""


class ExecutorError(ValueError):
    """A bad executor setting or an unreachable scheduler."""


class ClusterError(ValueError):
    """A bad cluster config."""


class ResourceError(ValueError):
    """The runs would need more memory than is available (the message gives the estimate and the limit)."""


class NonFiniteError(ArithmeticError):
    """A computed curve holds NaN or infinity (not a user error: the caller reports it)."""
