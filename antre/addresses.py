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


def limit_key(address: str) -> str:
    """What a per-address limit counts ``address`` by: ``"2001:db8:1:2::/64"`` for any address in that /64,
    ``"203.0.113.5"`` for that IPv4 address (or ``::ffff:203.0.113.5``). Text that is no IP address (``"?"``, a
    test client's name) is its own key.

    >>> limit_key("2001:db8:1:2:a1b2:c3d4:e5f6:789"), limit_key("::ffff:203.0.113.5"), limit_key("203.0.113.5")
    ('2001:db8:1:2::/64', '203.0.113.5', '203.0.113.5')
    >>> limit_key("fe80::1%eth0"), limit_key("?")
    ('fe80::/64', '?')
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        shift = 128 - IPV6_PREFIX
        return str(ipaddress.IPv6Network((int(ip) >> shift << shift, IPV6_PREFIX)))
    return str(ip)


__all__ = ["IPV6_PREFIX", "limit_key"]
