"""A resident's photo, made safe to keep (Pillow): only real JPEG, PNG or WebP images are accepted, at most
40 megapixels (a decompression bomb is refused before it is decoded), turned upright by its EXIF orientation,
shrunk to ``MAX_SIDE`` pixels and saved again as a new JPEG without any metadata: no GPS location, no camera,
no date, no thumbnail, no comment. The file is named by the SHA-256 of what was written."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000
MAX_SIDE = 1280
QUALITY = 78


class PhotoRefused(ValueError):
    """``reason``: ``not_image`` or ``too_big``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def clean_photo(data: bytes, max_bytes: int) -> bytes:
    """The photo as a new, small JPEG with no metadata; :class:`PhotoRefused` otherwise."""
    if len(data) > max_bytes:
        raise PhotoRefused("too_big")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED) as im:
                if im.format not in ACCEPTED:
                    raise PhotoRefused("not_image")
                w, h = im.size
                if w < 1 or h < 1 or w * h > MAX_PIXELS:
                    raise PhotoRefused("too_big")
                im.load()
                upright = ImageOps.exif_transpose(im)
                rgb = upright.convert("RGB")
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("too_big") from None
    except UnidentifiedImageError:
        raise PhotoRefused("not_image") from None
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, MemoryError):
        raise PhotoRefused("not_image") from None
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new("RGB", rgb.size)        # a fresh image: nothing of the original's info travels along
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def fit_jpeg(data: bytes, max_side: int, max_bytes: int) -> bytes:
    """A copy of a JPEG made by :func:`clean_photo`, at most ``max_side`` pixels and ``max_bytes`` bytes: the
    quality goes down first (to 40), then the size (by a fifth each time). For the portal's small picture and
    the devices' one, which travels in one MQTT message."""
    with Image.open(io.BytesIO(data), formats=("JPEG",)) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((max_side, max_side))
    while True:
        for quality in (72, 60, 50, 40):
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        if max(rgb.size) <= 32:
            raise PhotoRefused("too_big")
        rgb = rgb.resize((max(1, rgb.width * 4 // 5), max(1, rgb.height * 4 // 5)), Image.LANCZOS)


class UploadTooLarge(Exception):
    """The request's body is larger than the form allows."""


async def read_upload(request, limit: int, max_fields: int = 20):
    """A multipart form with one file, read with a cap on the body's size (an oversized upload is refused
    while it arrives: :class:`UploadTooLarge`)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise UploadTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise UploadTooLarge()
    request._body = bytes(body)   # Starlette parses the form from the body read here
    return await request.form(max_files=1, max_fields=max_fields, max_part_size=16 * 1024)


def store_photo(folder: Path, data: bytes, name: str | None = None) -> str:
    """Writes the cleaned JPEG (atomically) and returns its name, ``<sha256>.jpg`` (or ``name``: a copy of
    another size stored beside it)."""
    name = name or hashlib.sha256(data).hexdigest() + ".jpg"
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    target = folder / name
    if not target.exists():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        try:
            tmp.write_bytes(data)
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except OSError:       # a full or read-only disk: leave no half-written file behind
            tmp.unlink(missing_ok=True)
            raise
    return name


__all__ = ["clean_photo", "store_photo", "fit_jpeg", "read_upload", "UploadTooLarge", "PhotoRefused", "MAX_SIDE"]
