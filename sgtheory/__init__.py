"""sgtheory: understand, diagnose and improve surrogate-gradient learning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sgtheory")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
