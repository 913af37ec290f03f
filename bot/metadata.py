"""What the wiki says about a batch of uploaded files, in one request per 50 titles.

`prop=imageinfo|categories` gives each file's current sha1, size in pixels and bytes,
MIME type, uploader, whether its EXIF names a camera (`commonmetadata`, for the flags),
a thumbnail URL at the standard width (`iiurlwidth`; the wiki renders raster thumbnails
for SVG, TIFF, PDF and WebP) and its visible categories (`clshow=!hidden`: hidden ones
are maintenance and imply no topic). A title missing from the answer was deleted after
it was listed; a failed request marks the whole batch as an API error, so each of its
files is recorded with that outcome and the pass goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pywikibot

from bot.category_parents import strip_namespace
from bot.wiki_query import API_ERRORS, flag, query_pages


@dataclass(frozen=True)
class FileInfo:
    """A file's current version as the wiki describes it."""

    title: str
    page_id: int
    sha1: str
    mime: str
    width: int
    height: int
    uploader: str | None
    thumb_url: str | None  # None for media without a raster thumbnail (audio, video)
    categories: tuple[str, ...]  # without "Category:"
    size_bytes: int = 0
    has_camera_exif: bool | None = None  # None: the wiki gave no metadata to tell


@dataclass(frozen=True)
class Missing:
    """The file page is gone (deleted, or moved away) since the upload was logged."""

    title: str


@dataclass(frozen=True)
class MetadataError:
    """The API request for this file's batch failed after its retries."""

    title: str
    message: str


FileMetadata = FileInfo | Missing | MetadataError


def fetch_metadata(
    site: pywikibot.site.APISite, titles: Sequence[str], thumb_width: int, batch: int = 50
) -> dict[str, FileMetadata]:
    """Describe each of `titles` (with "File:"); every title gets an answer."""
    out: dict[str, FileMetadata] = {}
    try:
        pages = query_pages(
            site,
            "imageinfo|categories",
            list(titles),
            batch,
            iiprop="url|size|mime|sha1|user|commonmetadata",
            iiurlwidth=thumb_width,
            clshow="!hidden",
            cllimit="max",
        )
        for page in pages:
            out[page["title"]] = _describe(page)
    except API_ERRORS as err:
        message = f"{type(err).__name__}: {err}"
        return {t: out.get(t) or MetadataError(t, message) for t in titles}
    return {t: out.get(t) or Missing(t) for t in titles}


def _describe(page: dict) -> FileMetadata:
    title = page["title"]
    infos = page.get("imageinfo")
    if flag(page, "missing") or not infos:
        return Missing(title)
    info = infos[0]
    thumb = info.get("thumburl")
    # Media without a raster rendering (audio, video) get no thumburl, or the
    # original's URL with a MIME type that is not an image.
    if not info.get("mime", "").startswith("image/") and thumb == info.get("url"):
        thumb = None
    return FileInfo(
        title=title,
        page_id=page["pageid"],
        sha1=info.get("sha1", ""),
        mime=info.get("mime", ""),
        width=info.get("width", 0),
        height=info.get("height", 0),
        uploader=info.get("user"),
        thumb_url=thumb,
        categories=tuple(strip_namespace(c["title"]) for c in page.get("categories", ())),
        size_bytes=info.get("size", 0),
        has_camera_exif=_names_camera(info.get("commonmetadata")),
    )


def _names_camera(metadata: list | None) -> bool | None:
    """Whether the file's EXIF names a camera maker or model."""
    if metadata is None:
        return None
    return any(m.get("name") in ("Make", "Model") and m.get("value") for m in metadata)
