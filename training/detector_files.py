"""The face detector's `.tflite` file, taken out of the PyPI `mediapipe` wheel at build time.

MediaPipe's face detectors (BlazeFace, Apache-2.0) ship inside the `mediapipe` wheel of
the 0.10 line (later wheels no longer carry the legacy solution files). The build
downloads that one pinned wheel with pip (no dependencies, nothing installed), checks
its sha256, and copies the detector and the wheel's licence into the model directory;
neither the bot nor training imports mediapipe.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from classifier.detectors import FaceDetectorSpec

MEDIAPIPE = "mediapipe==0.10.21"
WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
LICENCE_MEMBER = "mediapipe-0.10.21.dist-info/LICENSE"

# The two BlazeFace variants: the short-range model (faces within a few metres, 128 px
# input, 896 anchors) and the full-range sparse one (small faces too, 192 px, 2304
# anchors, about 2.4x the time). Anchor layouts are MediaPipe's published settings.
FACE_DETECTORS = {
    "short": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        FaceDetectorSpec("face_detector.tflite", 128, [8, 16], [2, 6], score_threshold=0.5),
    ),
    "full": (
        "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        FaceDetectorSpec("face_detector.tflite", 192, [4], [1], score_threshold=0.5),
    ),
}


def wheel(cache: Path) -> Path:
    """The pinned mediapipe wheel in `cache`, downloaded with pip when absent."""
    path = cache / WHEEL
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.11",
             "--platform", "manylinux_2_28_x86_64", "-d", str(cache), MEDIAPIPE],
            check=True,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{path}: sha256 {digest} is not the pinned {WHEEL_SHA256}")
    return path


def install_face_detector(kind: str, cache: Path, model_dir: Path) -> FaceDetectorSpec:
    """Copy the chosen detector and the wheel's licence into `model_dir`; its spec."""
    member, spec = FACE_DETECTORS[kind]
    with zipfile.ZipFile(wheel(cache)) as archive:
        (model_dir / spec.file).write_bytes(archive.read(member))
        (model_dir / "LICENSE-face-detector.txt").write_bytes(
            b"face_detector.tflite: " + member.encode() + b" from the PyPI wheel " + WHEEL.encode()
            + b" (MediaPipe, Google LLC), Apache License 2.0:\n\n" + archive.read(LICENCE_MEMBER)
        )
    return spec
