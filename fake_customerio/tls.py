"""A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost."""

from __future__ import annotations

import ssl
from pathlib import Path

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"  # certificate chain and private key together


def ensure_certificates(directory: Path) -> Path:
    """Create the CA and server certificate in `directory` unless present; returns the CA file."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file = directory / CA_FILE, directory / CERT_FILE
    if not (ca_file.exists() and cert_file.exists()):
        import trustme  # a test-time dependency: only needed when TLS is asked for

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
        ca.cert_pem.write_to_path(str(ca_file))
    return ca_file


def server_context(directory: Path) -> ssl.SSLContext:
    ensure_certificates(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(directory / CERT_FILE))
    return context
