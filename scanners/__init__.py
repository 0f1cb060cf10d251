"""Barcode input, usable without Flask: what a scanner sent, cleaned up.

Decoding images and parsing GS1 element strings come with issue 3; the
text clean-up here is what every keyboard-wedge scan already goes through.
"""

from .text import GS, MAX_SCAN, clean_scan

__all__ = ["GS", "MAX_SCAN", "clean_scan"]
