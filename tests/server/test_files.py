"""Signed links to result files and zips (mjstudio/server/files.py), over loopback HTTP.

The board links its thumbnails and downloads here: only a link the data folder signed opens a
file, for the version it names; a zip is made when its link is followed.
"""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from mjstudio import images
from mjstudio.server.files import KEPT, file_url, zip_url
from mjstudio.tasks.downloads import save_results
from mjstudio.tasks.record import RecordState
from tests.server.conftest import Served, png

CLOSED = "http://127.0.0.1:9"  # no provider is called


@pytest.fixture
def served(serve) -> Served:
    return serve(CLOSED)


def finished(served: Served):
    """A succeeded task with four stored results and their thumbnails."""
    record = served.record(RecordState.SUCCESS)
    blobs = [png(64 + 16 * n) for n in range(4)]
    prepared = [("png", blob, images.thumbnail(blob)) for blob in blobs]
    files, thumbs = save_results(served.studio.store, record, prepared)
    return served.studio.store.update(record.id, files=files, thumbs=thumbs, downloaded=True)


def link(served: Served, rel: str, **kw) -> str:
    """The board's link to a stored file at its current version."""
    version = str(served.studio.store.abspath(rel).stat().st_mtime_ns)
    return served.url + file_url(served.studio, rel, version, **kw)


def test_a_signed_link_serves_the_thumbnail_as_stored_and_lets_the_browser_keep_it(served):
    record = finished(served)
    answer = httpx.get(link(served, record.thumbs[2]))
    assert answer.status_code == 200
    assert answer.content == served.studio.store.abspath(record.thumbs[2]).read_bytes()
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == KEPT
    assert "content-disposition" not in answer.headers


def test_a_link_opens_only_the_file_and_version_it_was_signed_for(served):
    record = finished(served)
    good = link(served, record.thumbs[0])
    other = good.replace(record.thumbs[0].rsplit("/", 1)[1], record.thumbs[1].rsplit("/", 1)[1])
    for url in (
        other,  # another file with this file's signature
        good.replace("v=", "v=1"),  # another version
        good.replace("sig=", "sig=0"),  # a changed signature
        good.split("&sig=")[0],  # none
    ):
        assert httpx.get(url).status_code == 403, url


def test_a_signed_link_outside_the_data_folder_or_to_a_gone_file_is_not_found(served):
    studio = served.studio
    outside = served.url + file_url(studio, "../callback-secret", "1")
    assert httpx.get(outside).status_code == 404
    record = finished(served)
    gone = link(served, record.files[3])
    studio.store.abspath(record.files[3]).unlink()
    assert httpx.get(gone).status_code == 404


def test_a_download_link_saves_the_full_file_under_the_studios_name(served):
    record = finished(served)
    answer = httpx.get(link(served, record.files[1], download=True))
    assert answer.content == served.studio.store.abspath(record.files[1]).read_bytes()
    name = f"mjstudio-{record.id[:8]}-{record.files[1].rsplit('/', 1)[1]}"
    assert f'filename="{name}"' in answer.headers["content-disposition"]
    assert answer.headers["content-disposition"].startswith("attachment")


def test_a_zip_link_makes_the_zip_of_the_tasks_images_when_followed(served):
    record = finished(served)
    store = served.studio.store
    answer = httpx.get(served.url + zip_url(served.studio, record.id))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert f'filename="mjstudio-{record.id[:8]}.zip"' in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        found = {name: archive.read(name) for name in archive.namelist()}
    assert sorted(found.values()) == sorted(store.abspath(rel).read_bytes() for rel in record.files)
    assert all(name.startswith(f"mjstudio-{record.id[:8]}-") for name in found)


def test_a_zip_link_needs_its_signature_and_its_task(served):
    record = finished(served)
    url = served.url + zip_url(served.studio, record.id)
    assert httpx.get(url.replace("sig=", "sig=0")).status_code == 403
    other = served.record(RecordState.SUCCESS, task_id="t-2")
    assert httpx.get(url.replace(record.id, other.id, 1)).status_code == 403
    served.studio.store.delete(record.id)
    assert httpx.get(url).status_code == 404
