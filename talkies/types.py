"""Small shared choice types used by every layer (runtime included)."""

from __future__ import annotations

from enum import Enum

from talkies.errors import InputError


class _Choice(str, Enum):
    @classmethod
    def parse(cls, value: "str | _Choice"):
        """Parse a user string, or raise InputError listing the valid values."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise InputError(f"unknown {cls.__name__.lower()} {value!r}; valid: {valid}") from None

    def __str__(self) -> str:
        return self.value


class Precision(_Choice):
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"


class TargetName(_Choice):
    ONNX = "onnx"
    OPENVINO = "openvino"
    LITERT = "litert"
    COREML = "coreml"


class Backend(_Choice):
    """Runtime inference backends (an InferenceSession adapter each)."""

    ONNX = "onnx"
    OPENVINO = "openvino"
    LITERT = "litert"
    COREML = "coreml"


class Expression(_Choice):
    """Expression presets added on top of speech or a driver (see runtime.lipsync.EXPRESSIONS)."""

    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    SURPRISED = "surprised"


class Resolution(_Choice):
    """Output height of a rendered video: the source image's own, 720 or 1080 pixels."""

    SOURCE = "source"
    HD = "720p"
    FULL_HD = "1080p"
