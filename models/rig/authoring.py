"""Authoring of the ARKit face rig: every shape built procedurally on MediaPipe's canonical face, saved to
``models/rig/arkit_rig.npz`` (the runtime only loads and fits it: talkies.runtime.rig).

Each shape is built from named landmark regions (lips, jaw line, eyelids, brows...) with a smooth,
topology-aware falloff: handle vertices get a displacement, pinned vertices stay, and the vertices in
between take the harmonic interpolation over the mesh graph with the mouth and eye openings cut, so
the upper lip never drags the lower one.

    python -m talkies.models.rig.authoring build [OUT.npz]

regenerates the file from the canonical face (needs scipy and the cached MediaPipe geometry).
"""

from __future__ import annotations

import sys

import numpy as np

from talkies.kernels.blendshapes import SparseDeltas
from talkies.runtime.blendshapes import ARKIT_NAMES
from talkies.runtime.rig import ARKIT_LEFT_IS, BROWS, EYES, FACE_OVAL, JAW_FIXED, JAW_LINE, LIPS_LOWER_INNER, \
    LIPS_LOWER_OUTER, LIPS_UPPER_INNER, LIPS_UPPER_OUTER, MOUTH_CORNERS, NOSE, NOSE_ALA, RIG_FILE, FaceRig, eye_gap, \
    polygon_mask

SIDES = ("left", "right")
SIGN = {"left": 1.0, "right": -1.0}  # x direction of the subject's side in the rig frame


def reference_face(canonical_vertices: np.ndarray) -> np.ndarray:
    """The 478-point neutral in rig units from MediaPipe's 468 canonical vertices (cm, y up, z out)."""
    v = np.asarray(canonical_vertices, np.float64) * np.array([1.0, -1.0, -1.0])
    centre = (v[33] + v[263]) / 2
    unit = np.linalg.norm(v[263] - v[33])
    v = (v - centre) / unit
    iris = []
    for side in ("right", "left"):  # landmark order: 468-472 right iris, 473-477 left iris
        eye = EYES[side]
        ring = list(eye["corners"]) + list(eye["upper"]) + list(eye["lower"])
        c = v[ring].mean(0)
        r = 0.065  # iris radius ≈ 5.8 mm
        iris += [c, c + [r, 0, 0], c + [0, -r, 0], c + [-r, 0, 0], c + [0, r, 0]]
    return np.concatenate([v, np.asarray(iris)]).astype(np.float32)


class _Builder:
    """Region sets and the harmonic falloff over the canonical mesh graph."""

    def __init__(self, reference: np.ndarray, triangles: np.ndarray):
        from scipy import sparse

        self.ref = reference.astype(np.float64)
        self.n = len(reference)
        p = self.ref[:, :2]
        upper_poly = np.concatenate([p[list(LIPS_UPPER_OUTER)], p[list(LIPS_UPPER_INNER)][::-1]])
        lower_poly = np.concatenate([p[list(LIPS_LOWER_OUTER)], p[list(LIPS_LOWER_INNER)][::-1]])
        mesh = np.arange(self.n) < 468
        self.upper_lip = set(np.nonzero(polygon_mask(p, upper_poly) & mesh)[0]) | set(LIPS_UPPER_OUTER[1:-1]) \
            | set(LIPS_UPPER_INNER[1:-1])
        self.lower_lip = set(np.nonzero(polygon_mask(p, lower_poly) & mesh)[0]) | set(LIPS_LOWER_OUTER[1:-1]) \
            | set(LIPS_LOWER_INNER[1:-1])
        corners = {c for pair in MOUTH_CORNERS.values() for c in pair}
        self.upper_lip -= corners
        self.lower_lip -= corners
        # region lists the shapes share (sorted, so handle dicts are built in a fixed order)
        ref = self.ref
        self.upper, self.lower = sorted(self.upper_lip), sorted(self.lower_lip)
        self.lips = self.upper + self.lower + [c for pair in MOUTH_CORNERS.values() for c in pair]
        self.nose_and_up = [i for i in range(468) if ref[i, 1] < ref[2, 1] + 0.02 and i not in self.upper_lip]
        self.eyes_all = [i for eye in EYES.values() for k in ("corners", "upper", "lower", "upper1", "lower1")
                         for i in eye[k]]
        self.chin = [i for i in range(468) if ref[i, 1] > ref[17, 1] + 0.02 and abs(ref[i, 0]) < 0.45]
        # graph with the mouth and eye openings cut
        cut = [(set(LIPS_UPPER_INNER[1:-1]), set(LIPS_LOWER_INNER[1:-1]))]
        for eye in EYES.values():
            cut.append((set(eye["upper"]), set(eye["lower"])))
        pairs: dict[tuple[int, int], float] = {}
        for t in np.asarray(triangles):
            for a, c in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
                if any((a in u and c in lo) or (a in lo and c in u) for u, lo in cut):
                    continue
                w = 1.0 / max(float(np.linalg.norm(self.ref[a] - self.ref[c])), 1e-3)
                pairs[(int(a), int(c))] = pairs[(int(c), int(a))] = w
        keys = np.asarray(list(pairs))
        self.adj = sparse.coo_matrix((list(pairs.values()), (keys[:, 0], keys[:, 1])), shape=(self.n, self.n)).tocsr()
        self.lap = sparse.diags(np.asarray(self.adj.sum(1)).ravel()) - self.adj

    # -- regions --------------------------------------------------------------------------------
    def near(self, centre: np.ndarray, radius: float, *, mesh_only: bool = True) -> np.ndarray:
        d = np.linalg.norm(self.ref - centre, axis=1)
        ok = d < radius
        if mesh_only:
            ok[468:] = False
        return np.nonzero(ok)[0]

    def side_weight(self, side: str, idx, softness: float = 0.06) -> np.ndarray:
        """0 → 1 across the midline towards `side` (left + right weights sum to 1)."""
        x = self.ref[np.asarray(list(idx)), 0] * SIGN[side]
        return 1.0 / (1.0 + np.exp(-x / softness))

    # -- falloff --------------------------------------------------------------------------------
    def field(self, handles: dict[int, np.ndarray], pinned=(), radius: float = 0.5) -> np.ndarray:
        """(N, 3) displacement: handles fixed, pinned vertices and those farther than `radius` from
        every handle fixed at zero, the rest harmonic over the cut mesh graph."""
        from scipy import sparse
        from scipy.sparse.linalg import spsolve

        disp = np.zeros((self.n, 3))
        hidx = np.asarray(sorted(handles), np.int64)
        for i in hidx:
            disp[i] = handles[i]
        dist = np.min(np.linalg.norm(self.ref[:, None, :] - self.ref[None, hidx, :], axis=2), axis=1)
        free = (dist < radius) & (np.arange(self.n) < 468)
        free[hidx] = False
        free[np.asarray(list(pinned), np.int64)] = False
        f = np.nonzero(free)[0]
        if len(f):
            fixed = np.nonzero(~free)[0]
            lff = self.lap[f][:, f].tocsc()
            rhs = -(self.lap[f][:, fixed] @ disp[fixed])
            lff = lff + sparse.diags((lff.diagonal() <= 0).astype(float))  # isolated vertices stay put
            disp[f] = np.column_stack([spsolve(lff, rhs[:, c]) for c in range(3)])
        return disp

    def scalar_field(self, handles: dict[int, float], pinned=(), radius: float = 0.5) -> np.ndarray:
        vec = {i: np.array([w, 0.0, 0.0]) for i, w in handles.items()}
        return self.field(vec, pinned, radius)[:, 0]


def _lip_line(ref: np.ndarray, loop: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    pts = ref[list(loop)]
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])


def _named(side: str) -> str:
    """The ARKit suffix ("Left"/"Right") of the subject's `side`."""
    return "Left" if side == ARKIT_LEFT_IS else "Right"


def _jaw_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """jawOpen, jawForward, jawLeft/Right, and mouthClose (the lips closing against an open jaw)."""
    ref, upper, lower, nose_and_up, chin = b.ref, b.upper, b.lower, b.nose_and_up, b.chin
    shapes: dict[str, np.ndarray] = {}
    jaw_handles = {i: 1.0 for i in chin + list(JAW_LINE)}
    half = abs(ref[LIPS_LOWER_OUTER[0], 0] - ref[LIPS_LOWER_OUTER[-1], 0]) / 2
    for i in lower:  # the lower lip drops fully in the middle, less towards the corners: an oval opening
        jaw_handles[i] = 0.45 + 0.55 * float(np.clip(1.0 - (ref[i, 0] / half) ** 2, 0.0, 1.0)) ** 0.5
    for pair in MOUTH_CORNERS.values():
        for c in pair:
            jaw_handles[c] = 0.45
    for i, w in ((58, 0.75), (288, 0.75), (172, 0.9), (397, 0.9)):
        jaw_handles[i] = w
    jaw_pins = set(upper) | set(nose_and_up) | set(JAW_FIXED)
    jaw_w = b.scalar_field(jaw_handles, jaw_pins, radius=2.0)
    jaw_w = np.clip(jaw_w, 0.0, 1.0)
    hinge = np.array([0.0, 0.32, 1.0])
    theta = 0.26  # rad at jawOpen = 1: the lower lip drops by ~0.3 eye-corner distances
    c, s = np.cos(theta), np.sin(theta)
    rel = ref - hinge
    rotated = np.stack([rel[:, 0], c * rel[:, 1] - s * rel[:, 2], s * rel[:, 1] + c * rel[:, 2]], 1) + hinge
    jaw_open = (rotated - ref) * jaw_w[:, None]
    # an opening jaw also draws the mouth corners in a little
    for side, pair in MOUTH_CORNERS.items():
        for cidx in pair:
            jaw_open[cidx, 0] -= SIGN[side] * 0.03
    shapes["jawOpen"] = jaw_open
    shapes["jawForward"] = np.outer(jaw_w, [0.0, 0.0, -0.08])
    shapes["jawLeft" if ARKIT_LEFT_IS == "left" else "jawRight"] = np.outer(jaw_w, [0.1, 0.0, 0.0])
    shapes["jawRight" if ARKIT_LEFT_IS == "left" else "jawLeft"] = np.outer(jaw_w, [-0.1, 0.0, 0.0])

    # ---- lips closing against an open jaw (ARKit mouthClose is used together with jawOpen) -------
    drop = jaw_open[:, 1]
    close = {i: np.array([0.0, -0.75 * drop[i], 0.75 * -jaw_open[i, 2]]) for i in lower}
    for i in upper:
        close[i] = np.array([0.0, 0.25 * drop[14], 0.0])
    shapes["mouthClose"] = b.field(close, set(nose_and_up) | set(JAW_LINE), radius=0.45)
    return shapes


def _rounding_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """mouthFunnel and mouthPucker."""
    ref, lips, nose_and_up = b.ref, b.lips, b.nose_and_up
    shapes: dict[str, np.ndarray] = {}
    mouth_pins = set(nose_and_up) | set(JAW_LINE) | set(JAW_FIXED)
    # funnel: the inner lip outline narrows to a round opening while the outer lips flare
    funnel = {}
    for loop, sign, amount, narrow in ((LIPS_UPPER_INNER, -1.0, 0.07, 0.55), (LIPS_LOWER_INNER, 1.0, 0.07, 0.55),
                                       (LIPS_UPPER_OUTER, -1.0, 0.08, 0.0), (LIPS_LOWER_OUTER, 1.0, 0.08, 0.0)):
        half = abs(ref[loop[0], 0] - ref[loop[-1], 0]) / 2
        for i in loop:
            x = ref[i, 0]
            prof = max(0.0, 1.0 - (x / half) ** 2)  # 0 at the corners, 1 in the middle
            funnel[i] = np.array([-narrow * x, sign * amount * prof, -0.06])
    shapes["mouthFunnel"] = b.field(funnel, mouth_pins, radius=0.4)
    pucker = {}
    for i in lips:
        x = ref[i, 0]
        d = np.array([-0.32 * x, 0.0, -0.1])
        if i in LIPS_UPPER_OUTER[1:-1]:
            d[1] = -0.02
        elif i in LIPS_LOWER_OUTER[1:-1]:
            d[1] = 0.02
        pucker[i] = d
    shapes["mouthPucker"] = b.field(pucker, mouth_pins, radius=0.4)
    return shapes


def _corner_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """The mouth corners: smile, frown, stretch, dimple."""
    ref, lips, eyes_all = b.ref, b.lips, b.eyes_all
    shapes: dict[str, np.ndarray] = {}
    centre_lips = [i for i in lips if abs(ref[i, 0]) < 0.04]
    for side, pair in MOUTH_CORNERS.items():
        sg = SIGN[side]
        far_side = [i for i in lips if ref[i, 0] * sg < -0.04]
        pins = set(centre_lips) | set(far_side) | set(eyes_all) | set(JAW_LINE) | {2, 1, 4}
        for shape, vec, radius in (("mouthSmile", (0.075, -0.085, 0.03), 0.5),
                                   ("mouthFrown", (0.02, 0.07, 0.0), 0.45),
                                   ("mouthStretch", (0.085, 0.02, 0.02), 0.45),
                                   ("mouthDimple", (0.035, 0.0, 0.05), 0.35)):
            d = np.array([vec[0] * sg, vec[1], vec[2]])
            handles = {pair[0]: d, pair[1]: d * 0.9}
            shapes[shape + _named(side)] = b.field(handles, pins, radius=radius)
    return shapes


def _lip_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """Lip pressing, lowering, raising, rolling, shrugging, and the whole mouth sideways."""
    ref, upper, lower, lips, nose_and_up = b.ref, b.upper, b.lower, b.lips, b.nose_and_up
    eyes_all, chin = b.eyes_all, b.chin
    shapes: dict[str, np.ndarray] = {}
    x_all = ref[:, 0]
    up_in = _lip_line(ref, LIPS_UPPER_INNER, x_all)
    lo_in = _lip_line(ref, LIPS_LOWER_INNER, x_all)
    for side in SIDES:
        press = {}
        wside = dict(zip(lips, b.side_weight(side, lips)))
        for i in upper:
            press[i] = np.array([0.0, 0.55 * (up_in[i] - ref[i, 1]), 0.0]) * wside[i]
        for i in lower:
            press[i] = np.array([0.0, 0.55 * (lo_in[i] - ref[i, 1]), 0.0]) * wside[i]
        corner = MOUTH_CORNERS[side][0]
        press[corner] = np.array([0.015 * SIGN[side], 0.0, 0.0])
        shapes["mouthPress" + _named(side)] = b.field(press, set(nose_and_up) | set(JAW_LINE), radius=0.3)

        lower_down = {i: np.array([0.0, (0.085 if i in LIPS_LOWER_INNER else 0.07), -0.01]) * wside[i]
                      for i in lower}
        chin_pins = [i for i in chin if ref[i, 1] > ref[17, 1] + 0.12] + list(JAW_LINE)
        shapes["mouthLowerDown" + _named(side)] = b.field(lower_down, set(upper) | set(chin_pins), radius=0.4)
        upper_up = {i: np.array([0.0, -(0.075 if i in LIPS_UPPER_INNER else 0.06), -0.01]) * wside[i]
                    for i in upper}
        shapes["mouthUpperUp" + _named(side)] = b.field(upper_up, set(lower) | set(NOSE), radius=0.35)
    roll_lower = {i: np.array([0.0, 0.85 * (lo_in[i] - ref[i, 1]), 0.05]) for i in lower}
    shapes["mouthRollLower"] = b.field(roll_lower, set(upper) | set(JAW_LINE), radius=0.3)
    roll_upper = {i: np.array([0.0, 0.85 * (up_in[i] - ref[i, 1]), 0.05]) for i in upper}
    shapes["mouthRollUpper"] = b.field(roll_upper, set(lower) | set(NOSE), radius=0.3)
    shrug_lower = {i: np.array([0.0, -0.035, -0.03]) for i in lower}
    shrug_lower.update({i: np.array([0.0, -0.025, -0.01]) for i in upper})
    shapes["mouthShrugLower"] = b.field(shrug_lower, set(NOSE) | set(JAW_LINE), radius=0.35)
    shrug_upper = {i: np.array([0.0, -0.04, -0.03]) for i in upper}
    shrug_upper.update({i: np.array([0.0, -0.03, -0.01]) for i in lower})
    shapes["mouthShrugUpper"] = b.field(shrug_upper, set(NOSE) | set(JAW_LINE), radius=0.35)
    for side in SIDES:
        shift = {i: np.array([0.1 * SIGN[side], 0.0, 0.0]) for i in lips}
        shapes["mouthLeft" if _named(side) == "Left" else "mouthRight"] = b.field(
            shift, set(NOSE) | set(JAW_FIXED) | set(eyes_all), radius=0.5)
    return shapes


def _cheek_and_nose_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """cheekPuff, cheekSquint and noseSneer."""
    lower, lips, eyes_all = b.lower, b.lips, b.eyes_all
    shapes: dict[str, np.ndarray] = {}
    puff = {}
    for side in SIDES:
        centre = np.array([0.52 * SIGN[side], 0.62, -0.05])
        for i in b.near(centre, 0.16):
            puff[i] = np.array([0.06 * SIGN[side], 0.0, -0.04])
    shapes["cheekPuff"] = b.field(puff, set(lips) | set(NOSE) | set(eyes_all) | set(FACE_OVAL), radius=0.45)
    for side in SIDES:
        eye = EYES[side]
        centre = np.array([0.33 * SIGN[side], 0.28, -0.05])
        sq = {i: np.array([0.0, -0.045, 0.0]) for i in b.near(centre, 0.12)}
        for i in eye["lower2"]:
            sq[i] = np.array([0.0, -0.03, 0.0])
        pins = set(eye["upper"]) | set(eye["corners"]) | set(lips) | set(FACE_OVAL)
        shapes["cheekSquint" + _named(side)] = b.field(sq, pins, radius=0.4)
        sneer = {i: np.array([0.01 * SIGN[side], -0.05, -0.01]) for i in NOSE_ALA[side]}
        shapes["noseSneer" + _named(side)] = b.field(sneer, {1, 4, 5, 195, 197, 6, 168} | set(lower) | set(eyes_all),
                                                    radius=0.35)
    return shapes


def _eye_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """eyeBlink, eyeSquint, eyeWide, eyeLookIn/Out/Up/Down."""
    ref = b.ref
    shapes: dict[str, np.ndarray] = {}
    for side, eye in EYES.items():
        gap = eye_gap(ref, eye)
        lid_up = list(eye["upper"])
        lid_lo = list(eye["lower"])
        brow = set(BROWS[side]["upper"]) | set(BROWS[side]["lower"])
        pins = brow | set(eye["corners"]) | set(eye["lower2"])
        # blink: the upper lid comes down 85 % of the opening and the lower lid rises to meet it
        blink = {i: np.array([0.0, 0.85 * g, 0.02]) for i, g in zip(lid_up, gap)}
        lo_gap = np.interp(ref[lid_lo, 0], ref[lid_up, 0][np.argsort(ref[lid_up, 0])], gap[np.argsort(ref[lid_up, 0])])
        for i, g in zip(lid_lo, lo_gap):
            blink[i] = np.array([0.0, -0.15 * g, 0.0])
        shapes["eyeBlink" + _named(side)] = b.field(blink, pins | set(eye["lower1"]), radius=0.3)
        squint = {i: np.array([0.0, -0.35 * g, -0.01]) for i, g in zip(lid_lo, lo_gap)}
        for i, g in zip(lid_up, gap):
            squint[i] = np.array([0.0, 0.1 * g, 0.0])
        shapes["eyeSquint" + _named(side)] = b.field(squint, brow | set(eye["corners"]), radius=0.3)
        wide = {i: np.array([0.0, -0.5 * g, -0.01]) for i, g in zip(lid_up, gap)}
        for i, g in zip(lid_lo, lo_gap):
            wide[i] = np.array([0.0, 0.08 * g, 0.0])
        shapes["eyeWide" + _named(side)] = b.field(wide, brow | set(eye["corners"]) | set(eye["lower2"]), radius=0.3)
        shapes.update(_gaze_shapes(b, side, eye, gap, lo_gap, pins))
    return shapes


#: Iris travel at weight 1, in rig units (one unit = the outer eye corners' distance; an eye is ≈ 0.3 wide
#: and ≈ 0.1 open): sideways ≈ 30° of eye rotation, up and down less, as the lids bound them.
GAZE_SIDE = 0.085
GAZE_UP = 0.035
GAZE_DOWN = 0.03


def _gaze_shapes(b: _Builder, side: str, eye: dict, gap: np.ndarray, lo_gap: np.ndarray, pins: set
                 ) -> dict[str, np.ndarray]:
    """eyeLookIn/Out/Up/Down: the iris (its 5 points, so its shape is kept) moves inside the opening;
    the upper lid follows a look up or down a little, the lower lid a look down."""
    iris = list(eye["iris"])
    inward = -SIGN[side]  # towards the nose
    moves = {"eyeLookIn": (GAZE_SIDE * inward, 0.0), "eyeLookOut": (-GAZE_SIDE * inward, 0.0),
             "eyeLookUp": (0.0, -GAZE_UP), "eyeLookDown": (0.0, GAZE_DOWN)}
    lid_up, lid_lo = list(eye["upper"]), list(eye["lower"])
    shapes = {}
    for name, (dx, dy) in moves.items():
        if dy:
            follow = {i: np.array([0.0, 0.35 * dy * g / max(gap.mean(), 1e-6), 0.0]) for i, g in zip(lid_up, gap)}
            for i, g in zip(lid_lo, lo_gap):
                follow[i] = np.array([0.0, (0.25 if dy > 0 else 0.1) * dy, 0.0])
            delta = b.field(follow, pins | set(eye["lower1"]), radius=0.3)
        else:
            delta = np.zeros((b.n, 3))
        delta[iris] = [dx, dy, 0.0]
        shapes[name + _named(side)] = delta
    return shapes


def _brow_shapes(b: _Builder) -> dict[str, np.ndarray]:
    """browInnerUp, browOuterUp, browDown."""
    ref = b.ref
    shapes: dict[str, np.ndarray] = {}
    forehead_top = [10, 338, 297, 332, 284, 109, 67, 103, 54, 151, 9]
    lids = [i for eye in EYES.values() for k in ("corners", "upper", "lower") for i in eye[k]]
    inner_up = {}
    for side in SIDES:
        brow = BROWS[side]["upper"] + BROWS[side]["lower"]
        inner_x = min(abs(ref[i, 0]) for i in brow)
        outer_x = max(abs(ref[i, 0]) for i in brow)
        for i in brow:
            t = (abs(ref[i, 0]) - inner_x) / (outer_x - inner_x)  # 0 inner end, 1 outer end
            inner_up[i] = np.array([0.0, -0.1 * (1.0 - 0.8 * t) ** 1.5, 0.0])
        out_up = {i: np.array([0.0, -0.1 * ((abs(ref[i, 0]) - inner_x) / (outer_x - inner_x)) ** 1.2, 0.0])
                  for i in brow}
        shapes["browOuterUp" + _named(side)] = b.field(out_up, set(lids) | set(forehead_top), radius=0.5)
        down = {}
        for i in brow:
            t = (abs(ref[i, 0]) - inner_x) / (outer_x - inner_x)
            down[i] = np.array([-0.025 * SIGN[side] * (1 - t), 0.075 * (1.0 - 0.5 * t), 0.0])
        shapes["browDown" + _named(side)] = b.field(down, set(lids) | set(forehead_top), radius=0.45)
    shapes["browInnerUp"] = b.field(inner_up, set(lids) | set(forehead_top), radius=0.5)
    return shapes


def build_shapes(reference: np.ndarray, triangles: np.ndarray) -> dict[str, np.ndarray]:
    """Every procedural shape as a dense (478, 3) delta, keyed by ARKit name."""
    b = _Builder(reference, triangles)
    shapes: dict[str, np.ndarray] = {}
    for part in (_jaw_shapes, _rounding_shapes, _corner_shapes, _lip_shapes, _cheek_and_nose_shapes, _eye_shapes,
                 _brow_shapes):
        shapes.update(part(b))
    return shapes


def build_rig(canonical_vertices: np.ndarray, canonical_triangles: np.ndarray, *, tol: float = 2e-4) -> FaceRig:
    """The full rig from MediaPipe's canonical face (468 vertices in cm, y up, and its triangles)."""
    reference = reference_face(canonical_vertices)
    triangles = np.asarray(canonical_triangles, np.int32)
    shapes = build_shapes(reference, triangles)
    names = tuple(n for n in ARKIT_NAMES if n in shapes)
    dense = np.stack([shapes[n] for n in names]).astype(np.float32)
    return FaceRig(reference=reference, names=names, deltas=SparseDeltas.from_dense(dense, tol=tol),
                   triangles=triangles)


def _main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m talkies.models.rig.authoring build [OUT.npz]", file=sys.stderr)
        return 2
    from talkies.runtime.face.geometry import canonical_face_mesh

    mesh = canonical_face_mesh()
    rig = build_rig(mesh.vertices, mesh.triangles)
    out = rig.save(argv[1] if len(argv) > 1 else RIG_FILE)
    print(f"{out}: {len(rig.names)} shapes, {rig.deltas.indices.size} sparse rows")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
