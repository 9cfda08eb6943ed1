"""Keep converter SDK chatter (warnings, root-logger notices, their own progress prints) off the
user's terminal, and show one progress line of ours instead."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator

from talkies.errors import require
from talkies.log import get_logger, make_progress
from talkies.sdk import disable_openvino_telemetry

log = get_logger(__name__)

# Set before the SDKs are imported: TF/absl/glog C++ logging and litert-torch's own progress prints.
_SDK_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "3", "LITERT_TORCH_SHOW_PROGRESS": "n",
            "TF_ENABLE_ONEDNN_OPTS": "0"}
for _key, _value in _SDK_ENV.items():
    os.environ.setdefault(_key, _value)


disable_openvino_telemetry()

_NOISY_LOGGERS = ("torch", "torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "nncf",
                  "coremltools", "absl", "jax", "litert_torch", "ai_edge_quantizer", "root")


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Silence Python-level warnings, SDK loggers below ERROR and stray stdout/stderr prints (tqdm bars,
    rich consoles) inside the block. What was printed is kept and logged at debug level, so `-vv` still
    shows it. Our own progress bars keep working: make_progress pins the stderr of its creation time."""
    captured = io.StringIO()
    levels = {name: logging.getLogger(None if name == "root" else name).level for name in _NOISY_LOGGERS}
    try:
        for name in _NOISY_LOGGERS:
            logging.getLogger(None if name == "root" else name).setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            warnings.simplefilter("ignore")
            yield captured
    finally:
        for name, level in levels.items():
            logging.getLogger(None if name == "root" else name).setLevel(level)
        text = captured.getvalue().strip()
        if text:
            log.debug("converter output:\n%s", text)


def quiet_import(module: str, extra: str = "export"):
    """Import a chatty SDK (coremltools, litert-torch...) lazily with its import-time noise silenced."""
    logging.getLogger(module.split(".")[0]).setLevel(logging.ERROR)
    with quiet():
        return require(module, extra)


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    """One indeterminate progress line (on a terminal) for a step that takes seconds, SDKs silenced."""
    log.info(description)
    with make_progress() as progress:
        progress.add_task(description, total=None)
        with quiet():
            yield
