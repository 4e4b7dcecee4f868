"""Artifacts are written once: ``storage.write_once`` never replaces an object, and the create-only stand-in works.

The Cloud Storage checks run against fake-gcs-server, which honours
``ifGenerationMatch=0`` (the precondition ``write_once`` sends) but otherwise
allows overwrites; tests/create_only_gcs.py makes a bucket create-only as the
pipeline's rights on the artifacts bucket do, and is checked here first.
"""

from __future__ import annotations

import nbformat
import papermill
import pytest
from bigquery_emulator import running_fake_gcs
from create_only_gcs import create_only_proxy

from gnp.core import storage


def test_write_once_creates_a_local_file_and_refuses_to_replace_it(tmp_path):
    location = str(tmp_path / "runs" / "r1" / "manifest.json")
    storage.write_json_once(location, {"status": "succeeded"})

    with pytest.raises(FileExistsError):
        storage.write_once(location, b"second")

    assert storage.read_json(location) == {"status": "succeeded"}, "expected the first write kept"
    leftovers = [p.name for p in (tmp_path / "runs" / "r1").iterdir()]
    assert leftovers == ["manifest.json"], f"expected no temporary files left, found {leftovers}"


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    """fake-gcs-server, and a proxy to it in which the bucket ``artifacts`` is create-only."""
    import gcsfs

    with (
        pytest.MonkeyPatch.context() as env,
        running_fake_gcs(tmp_path_factory.mktemp("fake-gcs")) as endpoint,
        create_only_proxy(endpoint, {"artifacts"}) as gate,
    ):
        env.setenv("STORAGE_EMULATOR_HOST", gate.endpoint)
        gcsfs.GCSFileSystem.clear_instance_cache()  # instances keep the endpoint they were made with
        for bucket in ("artifacts", "lake"):
            storage.filesystem("gs://").mkdir(bucket)
        yield {"endpoint": endpoint, "gate": gate}
        gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.mark.slow
def test_the_create_only_bucket_refuses_a_replacement_and_a_delete_and_the_other_bucket_does_not(gcs):
    fs = storage.filesystem("gs://")
    fs.pipe_file("artifacts/runs/r/a.json", b"first")
    fs.pipe_file("lake/t/_snapshot.json", b"first")

    with pytest.raises(OSError):
        fs.pipe_file("artifacts/runs/r/a.json", b"second")  # an ordinary upload, no precondition
    with pytest.raises(OSError):
        fs.rm_file("artifacts/runs/r/a.json")
    fs.pipe_file("lake/t/_snapshot.json", b"second")

    assert fs.cat_file("artifacts/runs/r/a.json") == b"first", "expected the artifact unchanged"
    assert fs.cat_file("lake/t/_snapshot.json") == b"second", "expected the lake bucket to allow replacing"
    expected = ["POST gs://artifacts/runs/r/a.json", "DELETE gs://artifacts/runs/r/a.json"]
    assert gcs["gate"].refused[-2:] == expected, f"expected both refused, found {gcs['gate'].refused}"


@pytest.mark.slow
def test_write_once_sends_a_precondition_that_fake_gcs_server_enforces(gcs, monkeypatch):
    """Straight to fake-gcs-server (no proxy): the refusal comes from ifGenerationMatch=0 itself."""
    import gcsfs

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs["endpoint"])
    gcsfs.GCSFileSystem.clear_instance_cache()
    try:
        storage.write_once("gs://lake/runs/r/manifest.json", b"first")
        with pytest.raises(FileExistsError):
            storage.write_once("gs://lake/runs/r/manifest.json", b"second")
        assert storage.read_bytes("gs://lake/runs/r/manifest.json") == b"first", "expected the first write kept"
    finally:
        gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.mark.slow
def test_papermill_saving_after_every_cell_to_the_bucket_is_refused(gcs, tmp_path):
    """What the runner did before: papermill rewriting gs://.../NN.ipynb at each cell. Create-only rights stop it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "10_two_cells.ipynb"
    nbformat.write(nb, source)
    refused_before = len(gcs["gate"].refused)

    with pytest.raises(Exception):
        papermill.execute_notebook(str(source), "gs://artifacts/runs/old-way/10_two_cells.ipynb", kernel_name="python3",
                                   progress_bar=False, request_save_on_cell_execute=True)

    refused = gcs["gate"].refused[refused_before:]
    assert refused and refused[0] == "POST gs://artifacts/runs/old-way/10_two_cells.ipynb", f"found {refused}"
