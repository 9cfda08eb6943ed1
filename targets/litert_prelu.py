"""PReLU as TFLite's own PRELU op in float LiteRT conversions.

litert-torch decomposes `aten._prelu_kernel` into RELU, MUL and SUB (friendly to the GPU delegate); on
the CPU each of those is one more pass over memory for XNNPACK, and MediaPipe's landmark model (69
PReLUs) runs about 1.3x slower than with PRELU. :func:`native_prelu` swaps that decomposition, for the
conversion it wraps, for a custom op lowered to ``tfl.prelu``. The swap happens just before lowering,
after litert-torch's NHWC layout pass, so the slope already has the input's layout (``[1, 1, 1, C]``).
int8 keeps the decomposition: XNNPACK does not take an int8 PRELU, so the graph would split.

This reaches into litert-torch internals; when they are not as expected, the conversion goes on with
litert-torch's own decomposition (same outputs, slower) and says so in the log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from talkies.log import get_logger

log = get_logger(__name__)

_OP = "talkies_tfl::prelu"
_registered = False


def _register() -> None:
    """Define the custom op and its lowering once per process."""
    global _registered
    if _registered:
        return
    import torch
    from litert_converter.mlir import ir
    from litert_converter.mlir.dialects import stablehlo
    from litert_torch.backend.lowerings import registry
    from litert_torch.backend.lowerings import utils as lowering_utils

    @torch.library.custom_op(_OP, mutates_args=(), schema="(Tensor x, Tensor alpha) -> Tensor")
    def prelu(x, alpha):  # type: ignore[no-untyped-def]
        return torch.where(x > 0, x, x * alpha)

    prelu.register_fake(lambda x, alpha: torch.empty_like(x))

    @registry.lower(torch.ops.talkies_tfl.prelu.default)
    def _lower(lctx: Any, x: Any, alpha: Any) -> Any:
        # litert-torch's carrier for TFLite ops: a StableHLO custom call named after the op
        return stablehlo.custom_call(result=lowering_utils.node_meta_to_ir_types(lctx.node), inputs=[x, alpha],
                                     call_target_name=ir.StringAttr.get("tfl.prelu"),
                                     has_side_effect=ir.BoolAttr.get(False),
                                     backend_config=ir.StringAttr.get(str(ir.DictAttr.get({}))))

    _registered = True


def _prelu(x: Any, weight: Any) -> Any:
    import torch

    if weight.dim() == x.dim() >= 2 and weight.shape[0] == 1:
        return torch.ops.talkies_tfl.prelu(x, weight[0])  # tfl.prelu: slope of one rank less than the input
    return torch.relu(x) - weight * torch.relu(-x)  # litert-torch's own form


@contextlib.contextmanager
def native_prelu() -> Iterator[None]:
    """Within the block, litert-torch conversions emit PRELU for PReLU layers."""
    try:
        import torch
        from litert_torch.fx_infra import decomp

        _register()
        op = torch.ops.aten._prelu_kernel.default
        tables = (decomp._pre_convert_decomp, decomp._pre_lower_decomp)
        # torch's CustomDecompTable: `in`, [] and pop are its own, dict.get reads a stale store
        saved = [table[op] if op in table else None for table in tables]
    except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
        log.warning("litert-torch internals changed (%s): PReLU stays RELU/MUL/SUB", exc)
        yield
        return
    decomp._pre_convert_decomp.pop(op, None)
    decomp._pre_lower_decomp[op] = _prelu
    try:
        yield
    finally:
        for table, entry in zip(tables, saved):
            if entry is None:
                table.pop(op, None)
            else:
                table[op] = entry
