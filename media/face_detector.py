"""Faces in a picture: CenterFace (MIT licence), an ONNX model run by OpenCV's dnn module.

The opencv-python-headless wheel this project uses (5.x) ships no Haar cascades and no
``CascadeClassifier``; its ``FaceDetectorYN`` needs a model file too. CenterFace finds
small, turned and partly hidden faces better than the old cascades and runs on any input
size (a multiple of 32). ``scripts/install-face-model`` installs it from a pinned,
checksummed source; ``EVIDENCE_FACE_MODEL`` names another copy.

The network answers, on a grid four times coarser than its input, a face-centre heat map,
each centre's box size (log scale) and its sub-cell offset; we keep the centres above a
threshold and merge overlapping boxes (non-maximum suppression).
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from cv2.typing import MatLike
from numpy.typing import NDArray

from domain.errors import MediaError
from domain.messages import msg

MODEL_NAME = "centerface"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
_OUTPUTS = ["537", "538", "539", "540"]  # heat map, box scale, offset, landmarks
_STRIDE = 4
_NMS_OVERLAP = 0.3


def default_model_path() -> Path:
    """Where ``scripts/install-face-model`` puts the model: beside the virtualenv."""
    return Path(sys.prefix) / "share" / "evidence" / "models" / "centerface.onnx"


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels of the picture it was found in: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return max(0, self.w) * max(0, self.h)

    def overlap(self, other: Box) -> float:
        """Intersection over union."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.w, other.x + other.w)
        bottom = min(self.y + self.h, other.y + other.h)
        inter = max(0, right - left) * max(0, bottom - top)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float) -> Box:
        return Box(round(self.x * factor), round(self.y * factor), round(self.w * factor),
                   round(self.h * factor))

    def padded(self, fraction: float, width: int, height: int) -> Box:
        """Grown by ``fraction`` of its size on every side, kept inside the picture."""
        dx, dy = round(self.w * fraction), round(self.h * fraction)
        left, top = max(0, self.x - dx), max(0, self.y - dy)
        right, bottom = min(width, self.x + self.w + dx), min(height, self.y + self.h + dy)
        return Box(left, top, max(0, right - left), max(0, bottom - top))

    def to_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


class FaceDetector:
    """Finds faces in BGR pictures; ``input_width`` is the width the picture is shrunk to
    first (0: as it is), ``threshold`` the least heat-map score kept."""

    def __init__(self, model_path: Path | None = None, *, input_width: int = 640,
                 threshold: float = 0.3) -> None:
        path = model_path or default_model_path()
        if not path.is_file():
            raise MediaError(msg("the face detector's model {path} is missing", path=str(path)),
                             hint=msg("run scripts/install-face-model, or set EVIDENCE_FACE_MODEL "
                                      "to a copy of centerface.onnx"))
        data = path.read_bytes()
        self.model_sha256 = hashlib.sha256(data).hexdigest()
        if self.model_sha256 != MODEL_SHA256:
            raise MediaError(msg("the face detector's model {path} is not the pinned centerface.onnx",
                                 path=str(path)),
                             hint=msg("run scripts/install-face-model again"))
        self._net = cv2.dnn.readNetFromONNX(path.as_posix())
        self.input_width = input_width
        self.threshold = threshold

    def describe(self) -> dict[str, str | int]:
        """What a custody event records of the detector (no floats in events: the threshold
        in thousandths)."""
        return {"name": MODEL_NAME, "model_sha256": self.model_sha256,
                "threshold_permille": round(self.threshold * 1000)}

    def detect(self, picture_bgr: MatLike, width_limit: int | None = None
               ) -> list[Detection]:
        """Faces in the picture, in its own pixels, best first (searched on a copy shrunk to
        ``width_limit``, else ``input_width``)."""
        height, width = picture_bgr.shape[:2]
        limit = self.input_width if width_limit is None else width_limit
        scale = 1.0
        if limit and width > limit:
            scale = limit / width
            picture_bgr = cv2.resize(picture_bgr, (limit, round(height * scale)),
                                     interpolation=cv2.INTER_AREA)
        return [Detection(d.box.scaled(1 / scale), d.score)
                for d in self.detect_rgb(cv2.cvtColor(picture_bgr, cv2.COLOR_BGR2RGB))]

    def detect_rgb(self, picture_rgb: MatLike) -> list[Detection]:
        """Faces in an RGB picture taken at the size given (no shrinking), best first."""
        height, width = picture_rgb.shape[:2]
        net_w, net_h = _multiple_of_32(width), _multiple_of_32(height)
        blob = cv2.dnn.blobFromImage(picture_rgb, 1.0, (net_w, net_h), (0, 0, 0), False, False)
        self._net.setInput(blob)
        heat, scale, offset, _ = self._net.forward(_OUTPUTS)
        return _decode(heat[0, 0], scale[0], offset[0], self.threshold,
                       width / net_w, height / net_h)


def _multiple_of_32(size: int) -> int:
    return max(32, math.ceil(size / 32) * 32)


def _decode(heat: NDArray[np.float32], scale: NDArray[np.float32], offset: NDArray[np.float32],
            threshold: float, back_x: float, back_y: float) -> list[Detection]:
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return []
    box_h = np.exp(scale[0, rows, cols]) * _STRIDE
    box_w = np.exp(scale[1, rows, cols]) * _STRIDE
    centre_y = (rows + offset[0, rows, cols] + 0.5) * _STRIDE
    centre_x = (cols + offset[1, rows, cols] + 0.5) * _STRIDE
    scores = heat[rows, cols]
    found = []
    for i in np.argsort(-scores):
        left, top = max(0.0, centre_x[i] - box_w[i] / 2), max(0.0, centre_y[i] - box_h[i] / 2)
        found.append(Detection(Box(round(left * back_x), round(top * back_y),
                                   round(box_w[i] * back_x), round(box_h[i] * back_y)),
                               float(scores[i])))
    kept: list[Detection] = []
    for candidate in found:  # best first: a box overlapping a kept one is the same face
        if all(candidate.box.overlap(k.box) < _NMS_OVERLAP for k in kept):
            kept.append(candidate)
    return kept
