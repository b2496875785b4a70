"""Pick a source or reference image: upload, paste a URL, or an earlier result.

A picked image is checked, turned upright and made to fit once per image (an upload, or one
version of a result file), not on every run: a run neither reads nor hashes the full image.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components import display, services, session, team
from mjstudio import images
from mjstudio.server import embedded
from mjstudio.tasks.record import RecordState, TaskRecord

EARLIER = "Earlier result"
SOURCES = ("Upload", "URL", EARLIER)
RESULTS = 20  # earlier results offered: one page of the newest
DELIVERY_DATA = "data: URL inside the request"
DELIVERY_LINK = "Link served by the studio"


@dataclass(frozen=True)
class Picked:
    """An image ready to send: a pasted URL, or local bytes (upright) and how to send them."""

    pasted: str  # the URL as pasted; "" for local bytes
    data: bytes | None
    label: str
    digest: str
    mime: str = ""
    link: bool = False  # local bytes go as a link the studio serves, stored on first use

    @property
    def url(self) -> str:
        """The URL the provider fetches; a served link stores the image now, once per image."""
        if self.data is None:
            return self.pasted
        return url_for(self.data, self.mime, link=self.link, digest=self.digest)


_stored_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _stored() -> dict[tuple[str, str], str]:
    """Upload tokens by (uploads folder, image digest), for every session: one file per image."""
    return {}


def _prepare(name: str, raw: bytes, upload: bool) -> tuple[images.ImageInfo, bytes, str]:
    """Checked (an upload), turned upright (EXIF orientation) and made to fit the provider's
    10 MB (a large result): (what it is, the bytes to send, their digest)."""
    info = images.check_upload(name, raw) if upload else None
    data = images.upright(raw)
    data, mime = images.encode_to_fit(data, images.MAX_UPLOAD_BYTES)
    digest = hashlib.sha1(data).hexdigest()
    if info is not None and data is raw:
        return info, data, digest
    width, height = images.image_size(data)
    kind = mime.removeprefix("image/").upper()
    return images.ImageInfo(kind, width, height, mime, len(data)), data, digest


@st.cache_resource(max_entries=4, show_spinner=False)
def _intake(file_id: str, name: str, _data: bytes) -> tuple[images.ImageInfo, bytes, str]:
    """An upload made ready once (per upload), not on every rerun."""
    return _prepare(name, _data, upload=True)


@st.cache_resource(max_entries=4, show_spinner=False)
def _result_intake(
    path: str, mtime_ns: int, size: int, name: str
) -> tuple[images.ImageInfo, bytes, str]:
    """A stored result file read and made ready once per version of the file."""
    return _prepare(name, Path(path).read_bytes(), upload=False)


def url_for(data: bytes, mime: str, *, link: bool, digest: str = "") -> str:
    """A link the studio serves when ``link`` and the provider can reach it, else a data: URL."""
    base = public_base() if link else None
    if base is None:
        return images.to_data_url(data, mime)
    return _served_url(data, mime, digest or hashlib.sha1(data).hexdigest(), base)


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
    key = f"{page}:source"
    if session.take_handed(page) is not None:  # "Paint this", "Use as reference"
        st.session_state[key] = EARLIER
        for chosen in (f"{page}:result", f"{page}:result-img"):
            st.session_state.pop(chosen, None)  # chosen again from the handed image
    st.session_state.setdefault(key, SOURCES[0])
    source = st.segmented_control("Source", SOURCES, key=key, label_visibility="collapsed")
    if source == "URL":
        return _from_url(page)
    if source == EARLIER:
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
        info, data, digest = _intake(f"{file.file_id}:{len(data)}", file.name, data)
    except images.ImageRejected as exc:
        st.error(f"{file.name}: {exc.reason}", icon=":material/block:")
        return None
    st.caption(f"{file.name} · {info.width}×{info.height} · {info.format}")
    return _deliver(page, data, info.mime, file.name, digest)


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
    return Picked(pasted=url, data=None, label=url, digest=hashlib.sha1(url.encode()).hexdigest())


def _results(page: str) -> list[TaskRecord]:
    """One page of the newest finished tasks, and the one picked last (or handed over) when it
    is older than those."""
    conn = services.connection()
    store = services.studio().store
    done = store.list(conn.workspace, states=[RecordState.SUCCESS], limit=RESULTS, **team.mine())
    preset = session.last_pick(page)
    if preset and preset[0] not in {r.id for r in done}:
        older = store.get(preset[0])
        if older is not None and older.workspace == conn.workspace:
            done.insert(0, older)
    return [r for r in done if r.is_done]


def _from_result(page: str) -> Picked | None:
    store = services.studio().store
    done = _results(page)
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
        index=min(preset[1], n - 1) if preset and preset[0] == record.id else 0,
        horizontal=True,
        key=f"{page}:result-img",
        format_func=lambda i: f"Image {i + 1}",
    )
    session.remember_pick(page, record.id, image_index)
    path = store.abspath(record.files[image_index])
    thumbs = record.thumbs
    shown = store.abspath(thumbs[image_index]) if image_index < len(thumbs) else path
    display.image(shown if shown.is_file() else path, width=200)
    name = f"{record.id[:8]}-{image_index + 1}"
    return _from_file(page, path, name)


def _from_file(page: str, path: Path, name: str) -> Picked | None:
    """A stored result file, made ready once per version of the file."""
    try:
        version = path.stat()
        info, data, digest = _result_intake(str(path), version.st_mtime_ns, version.st_size, name)
    except OSError:
        st.error(f"{name}: the file is missing from the data folder", icon=":material/block:")
        return None
    except images.ImageRejected as exc:
        st.error(f"{name}: {exc.reason}", icon=":material/block:")
        return None
    return _deliver(page, data, info.mime, name, digest)


def _deliver(page: str, data: bytes, mime: str, label: str, digest: str) -> Picked:
    """Local bytes and how the provider gets them: a served link (stored only when the request
    is made) or a data: URL."""
    choices = [DELIVERY_LINK, DELIVERY_DATA] if public_base() else [DELIVERY_DATA]
    how = st.radio(
        "Send the image as",
        choices,
        key=f"{page}:delivery",
        horizontal=True,
        help="A link needs a studio address the provider can reach "
        "(MJSTUDIO_PUBLIC_URL); a data: URL always works but makes the "
        "request larger.",
    )
    link = how == DELIVERY_LINK
    return Picked(pasted="", data=data, label=label, digest=digest, mime=mime, link=link)


def _served_url(data: bytes, mime: str, digest: str, base: str) -> str:
    """Store the image once per content (for every session) and give its unguessable URL."""
    uploads = services.studio().uploads
    key = (str(uploads.root), digest)
    with _stored_lock:
        token = _stored().get(key)
        if token is not None:
            try:
                return uploads.public_url(base, token)
            except KeyError:  # pruned meanwhile: store it again
                pass
        token = _stored()[key] = uploads.put(data, mime)
    return uploads.public_url(base, token)
