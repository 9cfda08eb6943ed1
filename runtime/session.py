"""InferenceSession: one small interface, one adapter per backend. The runtime picks the adapter from
the bundle manifest's target, so app code never names an SDK."""

from __future__ import annotations

import os
import platform
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from talkies.errors import BundleError, TalkiesError, UnsupportedTargetError, require
from talkies.sdk import disable_openvino_telemetry
from talkies.runtime.bundle import Bundle, BundleManifest, TensorInfo, one_line
from talkies.types import Backend

# OpenVINO defaults to bf16 on CPUs with avx512_bf16 (errors ~1e-3): pin f32 for parity. One request at a
# time, latency first: one stream (the thread count comes from the session's `threads`).
OPENVINO_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}


class InferenceSession(ABC):
    """Runs one model: named float32 inputs in, named float32 outputs out (quantized I/O hidden)."""

    backend: Backend

    def __init__(self, path: Path, inputs: list[TensorInfo], outputs: list[TensorInfo]):
        self.path = Path(path)
        self.inputs = inputs
        self.outputs = outputs
        self._buffers: dict[str, np.ndarray | None] = {}

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    @abstractmethod
    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one inference. `feeds` maps every input name to an array of its declared shape."""

    def input_buffer(self, name: str) -> np.ndarray | None:
        """A float32 array of input `name`'s declared shape to fill in place and pass to run() as that
        input: where the backend allows it, it is the runtime's own input memory, so run() copies
        nothing (OpenVINO). None when the input's shape is not static. The same array every call; its
        contents are only read by run()."""
        if name not in self._buffers:
            info = next((t for t in self.inputs if t.name == name), None)
            if info is None:
                raise BundleError(f"{self.path.name}: no input {name!r}; expects {self.input_names}")
            shape = list(info.shape)
            static = all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
            self._buffers[name] = np.zeros(shape, np.float32) if static else None
        return self._buffers[name]

    def _check_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        missing = set(self.input_names) - set(feeds)
        if missing:
            raise BundleError(f"{self.path.name}: missing inputs {sorted(missing)}; expects {self.input_names}")


class OnnxRuntimeSession(InferenceSession):
    backend = Backend.ONNX

    def __init__(self, path: Path, inputs: list[TensorInfo], outputs: list[TensorInfo], *, threads: int = 1):
        super().__init__(path, inputs, outputs)
        ort = require("onnxruntime", "runtime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._out = [o.name for o in self._session.get_outputs()]
        self._in = list(self.input_names)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_feeds(feeds)
        values = self._session.run(self._out, {n: np.ascontiguousarray(feeds[n], np.float32) for n in self._in})
        return dict(zip(self.output_names, values))


class OpenVINOSession(InferenceSession):
    backend = Backend.OPENVINO

    def __init__(self, path: Path, inputs: list[TensorInfo], outputs: list[TensorInfo], *, threads: int = 1,
                 config: dict[str, str] | None = None):
        super().__init__(path, inputs, outputs)
        disable_openvino_telemetry()
        ov = require("openvino", "runtime")
        core = ov.Core()
        settings = {**OPENVINO_CONFIG, **(config or {}), "INFERENCE_NUM_THREADS": threads}
        self._compiled = core.compile_model(core.read_model(str(path)), "CPU", settings)
        self._request = self._compiled.create_infer_request()
        self._ports = list(self._compiled.outputs)
        # Static float32 inputs are written straight into the request's own tensors, and the outputs
        # copied out of its tensors: no per-call tensor dispatch (about 30 µs a call, and a copy of
        # the input). Other inputs (dynamic shapes, other types) go through infer()'s dispatcher.
        f32 = ov.Type.f32
        self._tensors: dict[str, np.ndarray] = {}
        for name, port in zip(self.input_names, self._compiled.inputs):
            if port.get_partial_shape().is_static and port.get_element_type() == f32:
                self._tensors[name] = self._request.get_tensor(port).data
        self._direct = len(self._tensors) == len(self.inputs) == len(self._compiled.inputs) and all(
            p.get_partial_shape().is_static for p in self._ports)

    def input_buffer(self, name: str) -> np.ndarray | None:
        if name in self._tensors:
            return self._tensors[name]
        return super().input_buffer(name)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_feeds(feeds)
        if not self._direct:
            result = self._request.infer({n: np.ascontiguousarray(feeds[n], np.float32) for n in self.input_names})
            return {name: np.asarray(result[port]) for name, port in zip(self.output_names, self._ports)}
        for name, tensor in self._tensors.items():
            value = feeds[name]
            if value is not tensor:
                value = np.asarray(value)
                if value.shape != tensor.shape:
                    if value.size != tensor.size:
                        raise BundleError(f"{self.path.name}: input {name} has shape {value.shape}, the model "
                                          f"takes {tuple(tensor.shape)}")
                    value = value.reshape(tensor.shape)
                np.copyto(tensor, value, casting="unsafe")
        self._request.infer()
        request = self._request
        return {name: request.get_tensor(port).data.copy() for name, port in zip(self.output_names, self._ports)}


class LiteRTSession(InferenceSession):
    """ai-edge-litert's interpreter. int8 I/O is (de)quantized here with the model's own scales."""

    backend = Backend.LITERT

    def __init__(self, path: Path, inputs: list[TensorInfo], outputs: list[TensorInfo], *, threads: int = 1):
        super().__init__(path, inputs, outputs)
        interpreter_mod = require("ai_edge_litert.interpreter", "runtime")
        self._interp = interpreter_mod.Interpreter(model_path=str(path), num_threads=threads)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()
        self._outd = self._interp.get_output_details()
        if len(self._in) != len(inputs) or len(self._outd) != len(outputs):
            raise BundleError(f"{path.name}: the model's I/O count does not match the manifest")

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_feeds(feeds)
        for detail, name in zip(self._in, self.input_names):
            value = np.asarray(feeds[name], np.float32).reshape(detail["shape"])
            scale, zero = detail["quantization"]
            if np.issubdtype(detail["dtype"], np.integer) and scale:
                info = np.iinfo(detail["dtype"])
                value = np.clip(np.round(value / scale) + zero, info.min, info.max)
            self._interp.set_tensor(detail["index"], value.astype(detail["dtype"]))
        self._interp.invoke()
        out = {}
        for detail, name in zip(self._outd, self.output_names):
            value = self._interp.get_tensor(detail["index"])
            scale, zero = detail["quantization"]
            if np.issubdtype(value.dtype, np.integer) and scale:
                value = (value.astype(np.float32) - zero) * scale
            out[name] = value.astype(np.float32, copy=False)
        return out


class CoreMLSession(InferenceSession):
    backend = Backend.COREML

    def __init__(self, path: Path, inputs: list[TensorInfo], outputs: list[TensorInfo], *, threads: int = 1):
        super().__init__(path, inputs, outputs)
        if platform.system() != "Darwin":
            raise UnsupportedTargetError(
                f"{path.name}: Core ML models run only on macOS/iOS; on {platform.system()} use the onnx, "
                "openvino or litert bundle (the Core ML bundle's spec is checked by `talkies bundle verify`)")
        ct = require("coremltools", "export")
        self._model = ct.models.MLModel(str(path))

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # pragma: no cover - macOS only
        self._check_feeds(feeds)
        result = self._model.predict({n: np.asarray(feeds[n], np.float32) for n in self.input_names})
        return {n: np.asarray(result[n], np.float32) for n in self.output_names}


ADAPTERS: dict[Backend, type[InferenceSession]] = {
    Backend.ONNX: OnnxRuntimeSession,
    Backend.OPENVINO: OpenVINOSession,
    Backend.LITERT: LiteRTSession,
    Backend.COREML: CoreMLSession,
}


def backend_available(backend: Backend | str) -> str | None:
    """None when `backend` can run here, else the reason it cannot."""
    backend = Backend.parse(backend)
    if backend is Backend.COREML and platform.system() != "Darwin":
        return "needs macOS"
    module = {Backend.ONNX: "onnxruntime", Backend.OPENVINO: "openvino",
              Backend.LITERT: "ai_edge_litert.interpreter", Backend.COREML: "coremltools"}[backend]
    if backend is Backend.OPENVINO:
        disable_openvino_telemetry()
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed"
    return None


def open_session(manifest: BundleManifest, root: Path, *, threads: int = 1) -> InferenceSession:
    """The adapter for a manifest's target, loading its model file from `root`."""
    backend = Backend.parse(manifest.target)
    kwargs: dict = {"threads": threads}
    if backend is Backend.OPENVINO:
        kwargs["config"] = manifest.runtime_hints.get("openvino")
    try:
        return ADAPTERS[backend](root / manifest.model_file, manifest.inputs, manifest.outputs, **kwargs)
    except TalkiesError:
        raise
    except Exception as exc:  # a backend failing on the file is a broken bundle, not a bug of ours
        raise BundleError(f"{root}: {manifest.model_file} does not load in {manifest.target} "
                          f"({type(exc).__name__}: {one_line(exc)[:300]})") from exc


def session_for(bundle: Bundle, *, threads: int | None = None) -> InferenceSession:
    return open_session(bundle.manifest, bundle.root, threads=threads or default_threads())


def default_threads() -> int:
    return int(os.environ.get("TALKIES_THREADS", "1"))
