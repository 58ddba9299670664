"""A real time-stamping authority on 127.0.0.1: OpenSSL's `ts -reply` behind a small HTTP
endpoint, with its own test CA (root → TSA certificate with the critical timeStamping
extended key usage). `down` makes it answer 503, as a TSA that is out would."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.55555.1.1"


def require_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: it is part of every Debian system; install `openssl`")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test TSA")])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
                 issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                                        critical=True).add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@dataclass
class RunningTsa:
    """The running TSA: ``url``, ``roots_file`` (its CA), ``down`` (answer 503)."""

    folder: Path
    url: str = ""
    roots_file: Path = field(default_factory=Path)
    down: bool = False
    answered: int = 0

    def reply(self, query: bytes) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.folder) as work:
            query_file = Path(work) / "query.tsq"
            reply_file = Path(work) / "reply.tsr"
            query_file.write_bytes(query)
            subprocess.run(["openssl", "ts", "-reply", "-config", str(self.folder / "tsa.cnf"),
                            "-queryfile", str(query_file), "-out", str(reply_file)],
                           check=True, capture_output=True)
            self.answered += 1
            return reply_file.read_bytes()


def _write_config(folder: Path) -> None:
    (folder / "serial").write_text("01\n", encoding="ascii")
    (folder / "tsa.cnf").write_text(f"""
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
# the chain is left out: OpenSSL writes the SignedData certificates unsorted, which a strict
# DER reader (rfc3161-client) refuses; the verifier has the root, the token the TSA certificate
default_policy = {POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""", encoding="ascii")


@contextmanager
def running_tsa(folder: Path) -> Iterator[RunningTsa]:
    require_openssl()
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test TSA Root", ca_key, "Test TSA Root", ca_key, ca=True)
    tsa_cert = _certificate("Test TSA", tsa_key, "Test TSA Root", ca_key, ca=False)
    _pem(folder / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    _pem(folder / "tsa.crt", tsa_cert.public_bytes(serialization.Encoding.PEM))
    _pem(folder / "tsa.key", tsa_key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    _write_config(folder)
    tsa = RunningTsa(folder, roots_file=folder / "ca.crt")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if tsa.down or self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(503 if tsa.down else 415)
                self.end_headers()
                return
            body = tsa.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
