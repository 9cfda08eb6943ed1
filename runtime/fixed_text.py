"""Numbers to text for whole arrays at once: fixed-point decimals laid out as CSV rows, built digit by digit
with numpy instead of one Python format call per value (an hour of Live Link curves is 22 million numbers).

The text is byte for byte what ``f"{v:.{decimals}f}"`` gives for float32 values: their products with
10**decimals are exact in float64, and both round half to even."""

from __future__ import annotations

import numpy as np

_FILL = 0  # a byte that never appears in the text: dropped at the end


def _digits(values: np.ndarray, width: int, *, zeros: bool = False) -> np.ndarray:
    """(..., width) ASCII digits of non-negative integers, right-aligned; leading positions are _FILL,
    or zeros with `zeros` (``%02d``-style)."""
    out = np.full((*values.shape, width), _FILL, np.uint8)
    rest = np.asarray(values, np.int64).copy()
    for j in range(width - 1, -1, -1):
        digit = (rest % 10).astype(np.uint8) + ord("0")
        keep = (rest > 0) | (j == width - 1) | zeros  # at least one digit
        out[..., j] = np.where(keep, digit, _FILL)
        rest //= 10
    return out


def int_tokens(values: np.ndarray, min_width: int = 1) -> np.ndarray:
    """(N, 1, width) tokens of non-negative integers, zero-padded to `min_width` (``%0{min_width}d``)."""
    values = np.asarray(values, np.int64)
    width = max(min_width, len(str(int(values.max()))) if values.size else 1)
    out = _digits(values, width, zeros=True)
    if width > min_width:  # wider numbers than the padding: drop the extra leading zeros again
        lead = _digits(values, width)
        out[..., : width - min_width] = lead[..., : width - min_width]
    return out[:, None, :]


def fixed_tokens(values: np.ndarray, decimals: int) -> np.ndarray:
    """(N, C, width) bytes of each value as ``%.{decimals}f`` (sign kept on negative zero, as Python
    does), padded with _FILL; the sign position is left out when no value has a sign. Digits come from
    integer division by 10 (``x - (x // 10) * 10``, faster in numpy than ``%``), in uint32 where it fits."""
    v = np.asarray(values, np.float64)
    scaled = np.rint(np.abs(v) * 10.0 ** decimals)  # exact integers (a float32 times 10**decimals)
    top = int(scaled.max()) if scaled.size else 0
    scaled = scaled.astype(np.uint32 if top < 2 ** 32 and decimals <= 9 else np.int64)
    whole = scaled // 10 ** decimals
    frac = scaled - whole * 10 ** decimals
    int_width = len(str(top // 10 ** decimals))
    negative = np.signbit(v)
    sign = int(negative.any())
    out = np.empty((*v.shape, sign + int_width + 1 + decimals), np.uint8)
    if sign:
        out[..., 0] = np.where(negative, ord("-"), _FILL)
    for j in range(sign + int_width - 1, sign - 1, -1):  # integer part, right-aligned, at least one digit
        rest = whole // 10
        digit = (whole - rest * 10).astype(np.uint8) + np.uint8(ord("0"))
        out[..., j] = digit if j == sign + int_width - 1 else np.where(whole > 0, digit, np.uint8(_FILL))
        whole = rest
    out[..., sign + int_width] = ord(".")
    for j in range(sign + int_width + decimals, sign + int_width, -1):
        rest = frac // 10
        out[..., j] = (frac - rest * 10).astype(np.uint8) + np.uint8(ord("0"))
        frac = rest
    return out


def csv_rows(columns: list[np.ndarray]) -> bytes:
    """CSV text of rows made from `columns`, each an (N, C, width) token array (from fixed_tokens, or
    fixed-width text as uint8): values joined by commas, rows ended by newlines, padding dropped."""
    n = columns[0].shape[0]
    widths = [block.shape[1] * (block.shape[2] + 1) for block in columns]
    rows = np.empty((n, sum(widths)), np.uint8)
    start = 0
    for block, width in zip(columns, widths):
        cells = rows[:, start:start + width].reshape(n, block.shape[1], block.shape[2] + 1)
        cells[..., :-1] = block
        cells[..., -1] = ord(",")
        start += width
    rows[:, -1] = ord("\n")
    flat = rows.reshape(-1)
    keep = flat != _FILL
    return flat.tobytes() if keep.all() else flat[keep].tobytes()


def text_token(text: str, rows: int) -> np.ndarray:
    """(rows, 1, len) the same short ASCII text on every row (a constant column)."""
    return np.tile(np.frombuffer(text.encode("ascii"), np.uint8), (rows, 1, 1))


def joined(tokens: list[np.ndarray], separators: list[str]) -> np.ndarray:
    """One (N, 1, width) token from several, with `separators` between them (``HH:MM:SS`` from three)."""
    n = tokens[0].shape[0]
    parts = [tokens[0]]
    for sep, token in zip(separators, tokens[1:]):
        parts += [text_token(sep, n), token]
    return np.concatenate(parts, axis=-1)
