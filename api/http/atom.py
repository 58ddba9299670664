"""Atom feeds (RFC 4287) of the public site, built with ``xml.etree``.

A feed and each entry carry the three elements RFC 4287 requires (``id``, ``title``,
``updated``), a feed has its ``author`` and a ``self`` link, and an entry its
``alternate`` link to the page that shows it. Ids are ``tag:`` URIs (RFC 4151) made from
the site's host and a stable key, so an entry keeps its id when its text changes and a
feed reader shows the change as an update rather than a new entry.

Usage (``api.http.public_site.atom_response`` wraps it in a response)::

    feed = Feed(id=tag_uri(host, "agency/a1/matters"), title="...", self_url=..., page_url=...,
                author="...", entries=[Entry(id=..., title=..., updated=..., url=..., summary=...)])
    xml_bytes = feed_xml(feed)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
TAG_DATE = "2026"  # the tag URIs' date: fixed, so ids never change (RFC 4151 section 2.1)
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)  # a feed with no entry still needs one


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: datetime  # aware
    url: str  # the page that shows it
    summary: str = ""
    published: datetime | None = None
    content: str | None = None  # plain text


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    self_url: str
    page_url: str
    author: str
    entries: Sequence[Entry]
    subtitle: str | None = None
    language: str = "zh-CN"


def tag_uri(host: str, key: str) -> str:
    """A stable Atom id: ``tag:HOST,2026:KEY`` (RFC 4151), the host without its port."""
    authority = host.split(":")[0].strip("[]").lower() or "localhost"
    return f"tag:{authority},{TAG_DATE}:{key}"


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Atom dates need a time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(parent: ET.Element, name: str, value: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    element.text = value
    return element


def _link(parent: ET.Element, href: str, rel: str, media_type: str | None = None) -> None:
    attrs = {"href": href, "rel": rel}
    if media_type:
        attrs["type"] = media_type
    ET.SubElement(parent, f"{{{ATOM_NS}}}link", attrs)


def feed_xml(feed: Feed) -> bytes:
    """The feed as UTF-8 XML; its ``updated`` is its newest entry's (or a fixed date if none)."""
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang":
                                              feed.language})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle)
    newest = max((e.updated for e in feed.entries), default=EMPTY_FEED_UPDATED)
    _text(root, "updated", rfc3339(newest))
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _text(author, "name", feed.author)
    _link(root, feed.self_url, "self", "application/atom+xml")
    _link(root, feed.page_url, "alternate", "text/html")
    for entry in feed.entries:
        node = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _text(node, "id", entry.id)
        _text(node, "title", entry.title)
        _text(node, "updated", rfc3339(entry.updated))
        if entry.published is not None:
            _text(node, "published", rfc3339(entry.published))
        _link(node, entry.url, "alternate", "text/html")
        if entry.summary:
            _text(node, "summary", entry.summary)
        if entry.content is not None:
            _text(node, "content", entry.content, type="text")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
