"""talkies: edge inference toolkit for talking faces."""

__version__ = "0.1.0"
