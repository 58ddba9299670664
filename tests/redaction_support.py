"""A real face moving across a short clip, and a C2PA test CA, for the redaction tests.

The face is tests/data/redaction/astronaut-face.jpg (see README.md there: a NASA photograph
in the public domain).
"""

from __future__ import annotations

import datetime
import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cv2.typing import MatLike

from cases.redactions import RedactionTools
from media.content_credentials import SigningCredentials
from media.ffmpeg_tools import ffmpeg_executable

FACE = Path(__file__).parent / "data" / "redaction" / "astronaut-face.jpg"


def face_picture(size: int) -> MatLike:
    picture = cv2.imread(FACE.as_posix())
    assert picture is not None, FACE
    return cv2.resize(picture, (size, size), interpolation=cv2.INTER_AREA)


def background(width: int, height: int) -> MatLike:
    """A textured, faceless backdrop (so the encoder and the detector have something to see)."""
    rng = np.random.default_rng(7)
    noise = rng.integers(60, 160, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)


def face_positions(width: int, height: int, face: int, frames: int) -> list[tuple[int, int]]:
    """Where the face's top-left corner is in each frame: left to right, a little downwards."""
    return [(round((width - face) * i / max(1, frames - 1)),
             round((height - face) * (0.2 + 0.3 * i / max(1, frames - 1))))
            for i in range(frames)]


def make_face_clip(dst: Path, *, width: int = 320, height: int = 240, fps: int = 15,
                   seconds: float = 2.0, face: int = 110) -> list[tuple[int, int, int, int]]:
    """An H.264/AAC MP4 of the face moving across, with a 440 Hz tone; returns the face's box
    (x, y, w, h) in each frame."""
    frames = round(fps * seconds)
    picture = face_picture(face)
    backdrop = background(width, height)
    command = [ffmpeg_executable(), "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-framerate",
               str(fps), "-i", "pipe:", "-f", "lavfi", "-i",
               f"sine=frequency=440:sample_rate=44100:duration={seconds}",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", dst.as_posix()]
    boxes = []
    with subprocess.Popen(command, stdin=subprocess.PIPE) as process:
        assert process.stdin is not None
        for x, y in face_positions(width, height, face, frames):
            frame = backdrop.copy()
            frame[y:y + face, x:x + face] = picture
            process.stdin.write(frame.tobytes())
            boxes.append((x, y, face, face))
        process.stdin.close()
    assert process.returncode == 0
    return boxes


def make_face_photo(dst: Path, *, width: int = 400, height: int = 300, face: int = 140,
                    at: tuple[int, int] = (130, 60)) -> tuple[int, int, int, int]:
    """A JPEG photo with the face at ``at``; returns the face's box (x, y, w, h)."""
    dst.write_bytes(face_photo_bytes(width, height, face, at))
    return (at[0], at[1], face, face)


@functools.cache
def face_photo_bytes(width: int = 400, height: int = 300, face: int = 140,
                     at: tuple[int, int] = (130, 60)) -> bytes:
    frame = background(width, height)
    frame[at[1]:at[1] + face, at[0]:at[0] + face] = face_picture(face)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


@dataclass(frozen=True)
class SignerFiles:
    ca_pem: bytes
    chain_pem: bytes  # the signing certificate, then the CA's
    key_pem: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "测试执法局 test agency")])


def make_test_signer() -> SignerFiles:
    """A test CA and a C2PA signing certificate it issued (ES256, P-256; the extended key
    usage C2PA accepts, email protection)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    no_usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(_name("Test redaction CA"))
          .issuer_name(_name("Test redaction CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True,
                                       **no_usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("Test redaction signer"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, **no_usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return SignerFiles(ca.public_bytes(pem), leaf.public_bytes(pem) + ca.public_bytes(pem),
                      key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))


@functools.cache
def shared_signer() -> SignerFiles:
    """One test CA and signer per test process."""
    return make_test_signer()


def redaction_tools() -> RedactionTools:
    """What the test servers redact with: the installed face model (loaded on first use) and
    the test signer."""
    signer = shared_signer()
    return _tools(signer.chain_pem, signer.key_pem)


@functools.cache
def _tools(chain_pem: bytes, key_pem: bytes) -> RedactionTools:
    return RedactionTools(SigningCredentials(chain_pem, key_pem))
