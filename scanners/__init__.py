"""Barcode input, usable without Flask: decoding images, what a scan means, labels.

    decode(image)  -> the barcodes in a camera frame or photo
    parse(text)    -> what one scan means on the floor
    clean_scan()   -> what a keyboard-wedge scanner sent, tidied
"""

from .parse import DEFAULT_RULES, KIND_WORDS, Rules, Scan, ScanError, parse
from .text import GS, MAX_SCAN, clean_scan

_DECODER = ("decode", "decode_bytes", "decode_file", "ImageError", "Result")


def __getattr__(name):
    # OpenCV and the decoders load only when an image is first decoded: the web
    # workers and the command line start fast, and parse() needs none of it.
    if name in _DECODER:
        from . import decoder

        return getattr(decoder, name)
    raise AttributeError(name)


__all__ = [
    "DEFAULT_RULES",
    "GS",
    "KIND_WORDS",
    "MAX_SCAN",
    "ImageError",
    "Result",
    "Rules",
    "Scan",
    "ScanError",
    "clean_scan",
    "decode",
    "decode_bytes",
    "decode_file",
    "parse",
]
