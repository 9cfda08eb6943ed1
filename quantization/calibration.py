"""CalibrationDataset: real samples (dict[str, np.ndarray] per sample) and one adapter per toolchain.

The samples come from the spec's `calibration_inputs()` (real faces for the face models) drawn with
the config's seed, which differs from the test-vector seed: an int8 model is never judged on the data
it was calibrated on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from talkies.errors import InputError, require
from talkies.export.spec import Feeds, ModelSpec
from talkies.log import make_progress
from talkies.quantization.config import QuantizationConfig

if TYPE_CHECKING:
    import torch


class CalibrationDataset:
    """An iterable of named float32 feeds, all with the same names and shapes."""

    def __init__(self, samples: Sequence[Feeds], *, input_names: Sequence[str], description: str = "calibration"):
        if not samples:
            raise InputError("a calibration dataset needs at least one sample")
        self.input_names = list(input_names)
        self.description = description
        self._samples: list[Feeds] = []
        for i, sample in enumerate(samples):
            missing = [n for n in self.input_names if n not in sample]
            if missing:
                raise InputError(f"calibration sample {i} lacks inputs {missing}; expects {self.input_names}")
            self._samples.append({n: np.ascontiguousarray(sample[n], dtype=np.float32) for n in self.input_names})

    @classmethod
    def from_spec(cls, spec: ModelSpec, config: QuantizationConfig | None = None) -> "CalibrationDataset":
        """`config.calibration_size` real samples from the spec, drawn with `config.seed`."""
        config = config or QuantizationConfig(calibration_size=spec.n_calibration)
        samples = spec.calibration_inputs(config.calibration_size, seed=config.seed)
        return cls(samples, input_names=[t.name for t in spec.inputs], description=f"{spec.name}: calibrating")

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[Feeds]:
        return iter(self._samples)

    def __getitem__(self, index: int) -> Feeds:
        return self._samples[index]

    def _tracked(self) -> Iterator[Feeds]:
        # The bar is made now, not at the first next(): it then draws on the real stderr even when the
        # loop runs inside a converter's silenced block.
        progress = make_progress()

        def iterate() -> Iterator[Feeds]:
            with progress:
                task = progress.add_task(self.description, total=len(self._samples))
                for sample in self._samples:
                    yield sample
                    progress.advance(task)

        return iterate()

    # --- adapters --------------------------------------------------------------------------------

    def to_ort(self) -> Any:
        """An onnxruntime.quantization.CalibrationDataReader over the samples (one pass)."""
        quantization = require("onnxruntime.quantization", "runtime")
        dataset = self

        class _Reader(quantization.CalibrationDataReader):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                self._it = dataset._tracked()

            def get_next(self) -> Feeds | None:
                return next(self._it, None)

            def rewind(self) -> None:
                self._it = dataset._tracked()

        return _Reader()

    def to_nncf(self) -> Any:
        """An nncf.Dataset whose items are {input name: array}, as an OpenVINO model takes them."""
        nncf = require("nncf", "export")
        return nncf.Dataset(list(self._samples))

    def to_aeq(self, signature: str, arg_names: Sequence[str]) -> dict[str, list[Feeds]]:
        """ai-edge-quantizer's calibration data, {signature key: samples}, each sample keyed by the
        signature's input names (`arg_names`, in input order). A list: the quantizer counts it first."""
        return {signature: [{a: s[n] for a, n in zip(arg_names, self.input_names)} for s in self._samples]}

    def torch_batches(self) -> Iterator[tuple["torch.Tensor", ...]]:
        """Positional torch tensors in input order, for a PT2E (LiteRT) calibration loop."""
        torch = require("torch", "export")
        samples = self._tracked()
        return (tuple(torch.from_numpy(s[n].copy()) for n in self.input_names) for s in samples)

    def calibrate_torch(self, module: Any, batches: Iterator[tuple["torch.Tensor", ...]] | None = None) -> None:
        """Run a PT2E-prepared module over every sample so its observers record activation ranges.
        `batches` (from torch_batches(), made before a silenced block) keeps its progress bar visible."""
        torch = require("torch", "export")
        with torch.no_grad():
            for args in batches if batches is not None else self.torch_batches():
                module(*args)

    def to_coreml(self) -> list[dict[str, np.ndarray]]:
        """The `sample_data` list taken by coremltools.optimize.coreml.experimental
        .linear_quantize_activations (activation calibration for Core ML)."""
        return [dict(sample) for sample in self._samples]
