"""The ModelSpec registry: the built-in specs, each listed here with its family, and any registered
with `register` (tests, or a project's own models). Specs are built on first use, so listing models
and their families stays cheap: a face spec needs its downloaded .tflite to be built."""

from __future__ import annotations

from collections.abc import Callable

from talkies.errors import InputError
from talkies.export import face_spec, lipsync_spec
from talkies.export.spec import ModelFamily, ModelSpec

Factory = Callable[[], ModelSpec]

_REGISTRY: dict[str, tuple[ModelFamily, Factory]] = {
    "face_detector": (ModelFamily.FACE, face_spec.face_detector),
    "face_landmarks": (ModelFamily.FACE, face_spec.face_landmarks),
    "face_blendshapes": (ModelFamily.FACE, face_spec.face_blendshapes),
    "lipsync": (ModelFamily.LIPSYNC, lipsync_spec.lipsync_spec),
    "lipsync_stream": (ModelFamily.LIPSYNC, lipsync_spec.lipsync_stream_spec),
}
_BUILT: dict[str, ModelSpec] = {}


def register(name: str, family: ModelFamily | str) -> Callable[[Factory], Factory]:
    """Register a spec factory under `name` (a decorator)."""
    family = ModelFamily.parse(family)

    def wrap(factory: Factory) -> Factory:
        _REGISTRY[name] = (family, factory)
        _BUILT.pop(name, None)
        return factory

    return wrap


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def _entry(name: str) -> tuple[ModelFamily, Factory]:
    if name not in _REGISTRY:
        raise InputError(f"unknown model {name!r}; valid: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_family(name: str) -> ModelFamily:
    """The family a model is registered with, without building its spec."""
    return _entry(name)[0]


def get_spec(name: str) -> ModelSpec:
    family, factory = _entry(name)
    if name not in _BUILT:
        spec = factory()
        if spec.name != name or spec.family is not family:
            raise AssertionError(f"spec {spec.name!r} ({spec.family}) registered as {name!r} ({family})")
        _BUILT[name] = spec
    return _BUILT[name]
