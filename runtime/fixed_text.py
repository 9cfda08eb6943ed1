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
    does), padded with _FILL. Filled one character position at a time, in int32 where it fits."""
    v = np.asarray(values, np.float64)
    scaled = np.rint(np.abs(v) * 10.0 ** decimals)
    whole = np.floor_divide(scaled, 10.0 ** decimals)
    frac = (scaled - whole * 10.0 ** decimals).astype(np.int32)
    int_width = max(1, len(str(int(whole.max())))) if whole.size else 1
    whole = whole.astype(np.int64 if int_width > 9 else np.int32)
    out = np.empty((*v.shape, 2 + int_width + decimals), np.uint8)
    out[..., 0] = np.where(np.signbit(v), ord("-"), _FILL)
    for j in range(int_width, 0, -1):  # integer part, right-aligned, at least one digit
        out[..., j] = np.where((whole > 0) | (j == int_width), whole % 10 + ord("0"), _FILL)
        whole //= 10
    out[..., int_width + 1] = ord(".")
    for j in range(decimals, 0, -1):
        out[..., int_width + 1 + j] = frac % 10 + ord("0")
        frac //= 10
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
    return flat[flat != _FILL].tobytes()


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
