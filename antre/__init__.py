"""Antre: offline queue software for Indonesian village offices, on Raspberry Pi."""

__version__ = "0.1.0"
PROTOCOL_VERSION = "2"
