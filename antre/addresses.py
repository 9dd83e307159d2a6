"""Client addresses as per-address limits count them.

One phone on IPv6 has many addresses: privacy extensions (RFC 8981) give it a new one every few hours or at each
reconnection, and every subscriber gets a whole /64 (often a /56) to pick from. Counted by the whole address, such
a phone, or anyone with a prefix, gets an endless budget. Limits therefore count an IPv6 address by its /64 (the
smallest prefix a network hands out), an IPv4 address by itself and an IPv4-mapped IPv6 address
(``::ffff:203.0.113.5``, what a dual-stack socket reports for an IPv4 client) as the IPv4 address.
"""

from __future__ import annotations

import ipaddress

#: An IPv6 address counts as its prefix of this many bits.
IPV6_PREFIX = 64
#: ... and, for the service's code budget, also as part of its site's prefix of this many bits: a /48 (a site's
#: usual allocation, free from tunnel brokers) holds 65 536 /64s, each a fresh budget otherwise.
IPV6_SITE_PREFIX = 48


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address as IPv4 (an IPv4-mapped IPv6 address too), IPv6, or None for text that is no IP address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _prefix(ip: ipaddress.IPv6Address, bits: int) -> str:
    return str(ipaddress.IPv6Network((ip, bits), strict=False))


def limit_key(address: str) -> str:
    """What a per-address limit counts ``address`` by: ``"2001:db8:1:2::/64"`` for any address in that /64,
    ``"203.0.113.5"`` for that IPv4 address (or ``::ffff:203.0.113.5``). Text that is no IP address (``"?"``, a
    test client's name) is its own key.

    >>> limit_key("2001:db8:1:2:a1b2:c3d4:e5f6:789"), limit_key("::ffff:203.0.113.5"), limit_key("203.0.113.5")
    ('2001:db8:1:2::/64', '203.0.113.5', '203.0.113.5')
    >>> limit_key("fe80::1%eth0"), limit_key("?")
    ('fe80::/64', '?')
    """
    ip = _ip(address)
    if ip is None:
        return address
    return _prefix(ip, IPV6_PREFIX) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


def site_key(address: str) -> str | None:
    """The IPv6 site (/48) ``address`` is in, ``"2001:db8:1::/48"``; None for IPv4 (counted whole: a mobile
    operator's NAT already puts many residents behind one) and for text that is no IP address.

    >>> site_key("2001:db8:1:2:a1b2::1"), site_key("::ffff:203.0.113.5"), site_key("?")
    ('2001:db8:1::/48', None, None)
    """
    ip = _ip(address)
    return _prefix(ip, IPV6_SITE_PREFIX) if isinstance(ip, ipaddress.IPv6Address) else None


__all__ = ["IPV6_PREFIX", "IPV6_SITE_PREFIX", "limit_key", "site_key"]
