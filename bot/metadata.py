"""What the wiki says about a batch of uploaded files, in one request per 50 titles.

`prop=imageinfo|categories` gives each file's current sha1, size in pixels and bytes,
MIME type, uploader, whether its EXIF names a camera (`commonmetadata`, for the flags),
a thumbnail URL at the standard width (`iiurlwidth`; the wiki renders raster thumbnails
for SVG, TIFF, PDF and WebP) and its visible categories (`clshow=!hidden`: hidden ones
are maintenance and imply no topic). A title missing from the answer was deleted after
it was listed. When the wiki could not render the thumbnail, its message (`thumberror`)
is kept, to become the file's error.

One bad file must not sink its batch: MediaWiki answers a whole `iiurlwidth` request
with an error (`urlparamnormal`) when one of its files is stored as 0x0 (a truncated
PNG). A batch the API refuses is therefore split in halves, again and again, until the
refusal is pinned on single files; only those get the API error. A request that failed
for any other reason (the connection, an HTTP error, after pywikibot's retries) marks
its titles as API errors, to be retried by a later pass, without splitting: an outage
is not made worse by more requests.
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
    thumb_error: str | None = None  # the wiki's message when it could not render one


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
    titles = list(titles)
    out: dict[str, FileMetadata] = {}
    for start in range(0, len(titles), batch):
        _fetch(site, titles[start : start + batch], thumb_width, out)
    return out


def _fetch(
    site: pywikibot.site.APISite,
    titles: list[str],
    thumb_width: int,
    out: dict[str, FileMetadata],
) -> None:
    """One request for `titles` into `out`; halves of them after an API refusal."""
    try:
        pages = list(
            query_pages(
                site,
                "imageinfo|categories",
                titles,
                len(titles),
                iiprop="url|size|mime|sha1|user|commonmetadata",
                iiurlwidth=thumb_width,
                clshow="!hidden",
                cllimit="max",
            )
        )
    except pywikibot.exceptions.APIError as err:
        if len(titles) > 1:
            middle = len(titles) // 2
            _fetch(site, titles[:middle], thumb_width, out)
            _fetch(site, titles[middle:], thumb_width, out)
            return
        out[titles[0]] = MetadataError(titles[0], f"{type(err).__name__}: {err}")
        return
    except API_ERRORS as err:
        out.update({t: MetadataError(t, f"{type(err).__name__}: {err}") for t in titles})
        return
    for page in pages:
        out[page["title"]] = _describe(page)
    for title in titles:
        out.setdefault(title, Missing(title))


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
        thumb_error=info.get("thumberror"),
    )


def _names_camera(metadata: list | None) -> bool | None:
    """Whether the file's EXIF names a camera maker or model."""
    if metadata is None:
        return None
    return any(m.get("name") in ("Make", "Model") and m.get("value") for m in metadata)
