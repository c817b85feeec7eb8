"""Who sent a request: the client's address, behind a reverse proxy too (issue 16.7).

Behind a proxy every request comes from the proxy's address. Login lockouts (axes,
per username and address) and the integration token limits would then count the
whole world as one address: anyone could lock any account by its username. With the
proxy's address in TRUSTED_PROXIES, the client is the nearest address in
X-Forwarded-For that is not a trusted proxy. X-Forwarded-For from anyone else is
ignored, so a client cannot choose its own address.
"""

import ipaddress

from django.conf import settings


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    return address is not None and any(address in net for net in settings.TRUSTED_PROXIES)


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or, when that is a trusted proxy, the first address in
    X-Forwarded-For, from the right, that is not one. A malformed entry ends the
    search there: the proxy's own address is used rather than a made-up one."""
    remote = request.META.get("REMOTE_ADDR")
    if not _trusted(_address(remote or "")):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(entry)
        if address is None:
            return remote
        if not _trusted(address):
            return str(address)
    return remote
