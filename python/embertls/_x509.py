"""Just enough DER to give getpeercert() the dict ssl.SSLSocket.getpeercert() gives:
subject, issuer, version, serialNumber, notBefore, notAfter, subjectAltName. embertls has
already parsed and verified the certificate; this only reads it for display."""

from __future__ import annotations

import datetime
from typing import Dict, List, Tuple

_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.42": "givenName",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "0.9.2342.19200300.100.1.1": "userId",
}
_SAN = "2.5.29.17"
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


class DERError(ValueError):
    pass


def _tlv(data: bytes, i: int) -> Tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at ``i``."""
    if i + 2 > len(data):
        raise DERError("truncated")
    tag, first = data[i], data[i + 1]
    i += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or i + count > len(data):
            raise DERError("bad length")
        length = int.from_bytes(data[i:i + count], "big")
        i += count
    if i + length > len(data):
        raise DERError("truncated")
    return tag, i, i + length


def _children(data: bytes, start: int, end: int) -> List[Tuple[int, int, int]]:
    out = []
    i = start
    while i < end:
        tag, s, e = _tlv(data, i)
        out.append((tag, s, e))
        i = e
    return out


def _oid(raw: bytes) -> str:
    parts: List[int] = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        return ""
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in [first, parts[0] - 40 * first] + parts[1:])


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    return raw.decode("utf-8", "replace")


def _name(data: bytes, start: int, end: int):
    rdns = []
    for _, s, e in _children(data, start, end):  # SET OF
        attrs = []
        for _, s2, e2 in _children(data, s, e):  # SEQUENCE {type, value}
            (t_tag, ts, te), (v_tag, vs, ve) = _children(data, s2, e2)[:2]
            oid = _oid(data[ts:te])
            attrs.append((_NAMES.get(oid, oid), _string(v_tag, data[vs:ve])))
        rdns.append(tuple(attrs))
    return tuple(rdns)


def _time(tag: int, raw: bytes) -> str:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    else:  # GeneralizedTime YYYYMMDDHHMMSSZ
        year = int(text[:4])
        rest = text[4:]
    t = datetime.datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]),
                          int(rest[6:8]), int(rest[8:10]))
    # As OpenSSL's ASN1_TIME_print, which ssl uses: "Nov  5 09:34:43 2026 GMT".
    return f"{_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {t.year} GMT"


def _ip(raw: bytes) -> str:
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if len(raw) == 16:
        return ":".join(f"{int.from_bytes(raw[i:i + 2], 'big'):X}" for i in range(0, 16, 2))
    return raw.hex()


def _san(data: bytes, start: int, end: int):
    """The GeneralNames of the SEQUENCE at data[start:end] (an extnValue's content)."""
    _, s, e = _tlv(data, start)
    out = []
    for tag, gs, ge in _children(data, s, e):
        raw = data[gs:ge]
        if tag == 0x82:
            out.append(("DNS", raw.decode("ascii", "replace")))
        elif tag == 0x87:
            out.append(("IP Address", _ip(raw)))
        elif tag == 0x81:
            out.append(("email", raw.decode("ascii", "replace")))
        elif tag == 0x86:
            out.append(("URI", raw.decode("ascii", "replace")))
        elif tag == 0xA4:
            out.append(("DirName", _name(data, *_tlv(data, gs)[1:])))
    return tuple(out)


def decode(der: bytes) -> Dict[str, object]:
    """The ssl-style dict of a DER certificate."""
    _, cs, ce = _tlv(der, 0)
    _, ts, te = _children(der, cs, ce)[0]
    fields = _children(der, ts, te)
    version = 1
    if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
        _, vs, ve = _tlv(der, fields[0][1])
        version = int.from_bytes(der[vs:ve], "big") + 1
        fields = fields[1:]
    serial = der[fields[0][1]:fields[0][2]]
    issuer = _name(der, fields[2][1], fields[2][2])
    validity = _children(der, fields[3][1], fields[3][2])
    subject = _name(der, fields[4][1], fields[4][2])
    out: Dict[str, object] = {
        "subject": subject,
        "issuer": issuer,
        "version": version,
        "serialNumber": serial.lstrip(b"\0").hex().upper() or "00",
        "notBefore": _time(validity[0][0], der[validity[0][1]:validity[0][2]]),
        "notAfter": _time(validity[1][0], der[validity[1][1]:validity[1][2]]),
    }
    for tag, s, e in fields[6:]:
        if tag != 0xA3:  # [3] EXPLICIT extensions
            continue
        _, xs, xe = _tlv(der, s)
        for _, es, ee in _children(der, xs, xe):
            parts = _children(der, es, ee)
            if _oid(der[parts[0][1]:parts[0][2]]) == _SAN:
                _, vs, ve = parts[-1]  # the OCTET STRING's content
                out["subjectAltName"] = _san(der, vs, ve)
    return out
