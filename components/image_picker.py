"""Pick a source or reference image: upload, paste a URL, or an earlier result."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from components import services, session
from mjstudio import images
from mjstudio.server import embedded
from mjstudio.tasks.record import RecordState

SOURCES = ("Upload", "URL", "Earlier result")
DELIVERY_DATA = "data: URL inside the request"
DELIVERY_LINK = "Link served by the studio"


@dataclass(frozen=True)
class Picked:
    """An image ready to send: the URL the provider fetches, and (when local) its bytes."""

    url: str
    data: bytes | None
    label: str
    digest: str


def public_base() -> str | None:
    """Where the provider can reach this studio's routes (None when it can't)."""
    configured = services.settings().public_url
    if configured:
        return configured
    conn = services.connection()
    if conn.is_sandbox:
        return embedded.app_url(services.settings().folder)
    return None


def pick(page: str, *, label: str = "Reference image") -> Picked | None:
    """The picker; returns the chosen image or None (with a message saying what is missing)."""
    st.markdown(f"**{label}**")
    source = st.segmented_control(
        "Source", SOURCES, default=SOURCES[0], key=f"{page}:source", label_visibility="collapsed"
    )
    if source == "URL":
        return _from_url(page)
    if source == "Earlier result":
        return _from_result(page)
    return _from_upload(page)


def _from_upload(page: str) -> Picked | None:
    file = st.file_uploader(
        "Image file (JPG, PNG or WebP, up to 10 MB)",
        key=f"{page}:file",
        type=["jpg", "jpeg", "png", "webp"],
    )
    if file is None:
        return None
    data = file.getvalue()
    try:
        info = images.check_upload(file.name, data)
    except images.ImageRejected as exc:
        st.error(f"{file.name}: {exc.reason}", icon=":material/block:")
        return None
    st.caption(f"{file.name} · {info.width}×{info.height} · {info.format}")
    return _deliver(page, data, info.mime, file.name)


def _from_url(page: str) -> Picked | None:
    url = st.text_input(
        "Image URL",
        key=f"{page}:url",
        placeholder="https://…/image.png",
        help="A public http(s) link to a JPG, PNG or WebP of at most 10 MB.",
    )
    url = (url or "").strip()
    if not url:
        return None
    if not url.lower().startswith(("http://", "https://")):
        st.error("The URL must start with http:// or https://", icon=":material/link_off:")
        return None
    return Picked(url=url, data=None, label=url, digest=hashlib.sha1(url.encode()).hexdigest())


def _from_result(page: str) -> Picked | None:
    conn = services.connection()
    store = services.studio().store
    done = store.list(conn.workspace, states=[RecordState.SUCCESS], limit=30)
    done = [r for r in done if r.is_done]
    if not done:
        st.caption("No finished results yet in this workspace.")
        return None
    preset = session.last_pick(page)
    ids = [r.id for r in done]
    index = ids.index(preset[0]) if preset and preset[0] in ids else 0
    record = st.selectbox(
        "Task",
        done,
        index=index,
        key=f"{page}:result",
        format_func=lambda r: f"{r.prompt or r.mode} · {r.task_id}",
    )
    n = len(record.files)
    image_index = st.radio(
        "Image",
        list(range(n)),
        horizontal=True,
        key=f"{page}:result-img",
        format_func=lambda i: f"Image {i + 1}",
    )
    session.remember_pick(page, record.id, image_index)
    path = store.abspath(record.files[image_index])
    st.image(str(store.abspath(record.thumbs[image_index])), width=200)
    data = path.read_bytes()
    return _deliver(page, data, images.sniff_mime(data), f"{record.id[:8]}-{image_index + 1}")


def _deliver(page: str, data: bytes, mime: str, label: str) -> Picked:
    """Turn local bytes into a URL the provider can fetch: a served link or a data: URL."""
    digest = hashlib.sha1(data).hexdigest()
    base = public_base()
    choices = [DELIVERY_LINK, DELIVERY_DATA] if base else [DELIVERY_DATA]
    how = st.radio(
        "Send the image as",
        choices,
        key=f"{page}:delivery",
        horizontal=True,
        help="A link needs a studio address the provider can reach "
        "(MJSTUDIO_PUBLIC_URL); a data: URL always works but makes the "
        "request larger.",
    )
    if how == DELIVERY_LINK and base:
        return Picked(
            url=_served_url(data, mime, digest, base), data=data, label=label, digest=digest
        )
    return Picked(url=images.to_data_url(data, mime), data=data, label=label, digest=digest)


def _served_url(data: bytes, mime: str, digest: str, base: str) -> str:
    """Store the upload once per content and give its unguessable served URL."""
    uploads = services.studio().uploads
    token = session.upload_token(digest)
    if token is None or uploads.get(token) is None:
        token = uploads.put(data, mime)
        session.remember_upload_token(digest, token)
    return uploads.public_url(base, token)
