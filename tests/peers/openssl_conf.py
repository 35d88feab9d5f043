"""Limits what Python's ssl module (OpenSSL) offers beyond what its API reaches.

Python's ssl chooses TLS 1.2 ciphers (SSLContext.set_ciphers) but has no API for the TLS 1.3
cipher suites, nor for the key-exchange groups a client offers and a server accepts.
OpenSSL takes both from its configuration file, whose "system_default" section applies to
every SSL_CTX. restrict() writes such a file and points OPENSSL_CONF at it. OpenSSL reads
its configuration once, when the first module using it is loaded (ssl, and hashlib too),
so call restrict() before importing either.
"""

import atexit
import os
import sys
import tempfile


def restrict(ciphersuites=None, groups=None):
    """Makes every SSLContext of this process offer only `ciphersuites` (TLS 1.3 names,
    colon-separated) and `groups` (e.g. "X25519:P-256"); None leaves OpenSSL's default."""
    if ciphersuites is None and groups is None:
        return
    loaded = {"_ssl", "_hashlib"} & set(sys.modules)
    if loaded:
        raise RuntimeError(f"OpenSSL was already initialised (by {sorted(loaded)}): "
                           "restrict() must come before importing ssl or hashlib")
    lines = [
        "openssl_conf = openssl_init",
        "[openssl_init]",
        "ssl_conf = ssl_sect",
        "[ssl_sect]",
        "system_default = system_default_sect",
        "[system_default_sect]",
    ]
    if ciphersuites is not None:
        lines.append(f"Ciphersuites = {ciphersuites}")
    if groups is not None:
        lines.append(f"Groups = {groups}")
    fd, path = tempfile.mkstemp(prefix="embertls-peer-", suffix=".cnf")
    with os.fdopen(fd, "w") as conf:
        conf.write("\n".join(lines) + "\n")
    atexit.register(os.unlink, path)
    os.environ["OPENSSL_CONF"] = path
