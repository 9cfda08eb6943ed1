"""The error hierarchy. The CLI maps every TalkiesError to exit code 2 and a one-line message."""

from __future__ import annotations


class TalkiesError(Exception):
    """Base class of every error talkies raises on purpose (not a bug)."""


class InputError(TalkiesError, ValueError):
    """Bad user input. The message says what is wrong and how to fix it."""


class OutputError(TalkiesError):
    """An output cannot be written where asked (not a plain file, an input of the run, a full disk...)."""


class NoFaceError(TalkiesError):
    """No usable face was found in an image or video."""


class BundleError(TalkiesError):
    """A bundle is missing, malformed, tampered with, or fails verification."""


class UnsupportedTargetError(TalkiesError):
    """A target, precision or backend cannot do what was asked (on this machine or at all)."""


class ParityError(TalkiesError):
    """A compiled artifact disagrees with its fp32 reference beyond the spec's tolerance."""


class MissingDependencyError(TalkiesError, ImportError):
    """An optional SDK is not installed; the message names the pip extra that brings it."""


class AssetError(TalkiesError):
    """A model asset is not cached or could not be fetched; the message names the command to run."""


def require(module: str, extra: str):
    """Import an optional heavy SDK lazily, or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'talkies[{extra}]'"
        ) from exc
