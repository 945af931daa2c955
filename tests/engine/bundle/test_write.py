"""Tests of ptycho_engine.bundle.write: the layout, round trips, refusals and atomicity."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch

from ptycho_engine.atomic import OutputExistsError
from ptycho_engine.bundle import BundleError, read_bundle, write_bundle
from ptycho_engine.bundle import format as fmt
from tests.engine.bundle import make_inputs


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_directory_gets_wts_h5_zip_and_is_created(tmp_path):
    path = write_bundle(tmp_path / "run" / "model", **make_inputs())
    assert path == tmp_path / "run" / "model" / "wts.h5.zip"
    assert path.is_file()


def test_zip_path_is_used_as_given(tmp_path):
    path = write_bundle(tmp_path / "sub" / "mine.zip", **make_inputs())
    assert path == tmp_path / "sub" / "mine.zip"
    assert os.listdir(tmp_path / "sub") == ["mine.zip"]


def test_archive_holds_exactly_the_four_members(tmp_path):
    members = _members(write_bundle(tmp_path, **make_inputs()))
    assert list(members) == ["manifest.json", "params.json", "settings.json", "model.h5"]


def test_manifest_describes_the_bundle_and_hashes_every_other_member(tmp_path):
    members = _members(write_bundle(tmp_path, **make_inputs()))
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "ptychopinn-bundle"
    assert manifest["format_version"] == fmt.FORMAT_VERSION == 1
    assert manifest["backend"] == "pytorch"
    assert manifest["models"] == ["diffraction_to_obj", "autoencoder"]
    assert isinstance(manifest["package_version"], str) and manifest["package_version"]
    assert manifest["created"].endswith("+00:00")
    assert manifest["sha256"] == {
        name: hashlib.sha256(members[name]).hexdigest()
        for name in ("params.json", "settings.json", "model.h5")
    }


def test_params_get_a_version_and_a_float_intensity_scale(tmp_path):
    inputs = make_inputs()
    inputs["params"]["intensity_scale"] = np.float32(2.0)
    params = json.loads(_members(write_bundle(tmp_path, **inputs))["params.json"])
    assert params["_version"] == "3.0-pytorch"
    assert params["intensity_scale"] == 2.0 and isinstance(params["intensity_scale"], float)


def test_a_given_version_is_kept(tmp_path):
    inputs = make_inputs()
    inputs["params"]["_version"] = "custom"
    params = json.loads(_members(write_bundle(tmp_path, **inputs))["params.json"])
    assert params["_version"] == "custom"


def test_model_h5_layout(tmp_path):
    data = _members(write_bundle(tmp_path, **make_inputs()))["model.h5"]
    with h5py.File(io.BytesIO(data), "r") as h5:
        assert h5.attrs["format"] == "ptychopinn-bundle"
        assert h5.attrs["format_version"] == 1
        assert list(h5["weights/diffraction_to_obj"])[0] == "encoder.0.weight"
        assert h5["probe"].dtype == np.complex64 and h5["probe"].shape == (2, 16, 16)
        assert h5["scaling/nphotons"].shape == () and h5["scaling/nphotons"].dtype == np.float64
        assert h5["extras/groups"].dtype == np.int64


def test_round_trip_is_exact(tmp_path):
    inputs = make_inputs()
    contents = read_bundle(write_bundle(tmp_path, **inputs))
    assert list(contents.weights) == list(inputs["weights"])
    for model, state in inputs["weights"].items():
        assert list(contents.weights[model]) == list(state)  # state_dict order kept
        for key, value in state.items():
            expected = value.numpy() if isinstance(value, torch.Tensor) else value
            got = contents.weights[model][key]
            assert got.dtype == expected.dtype and got.shape == expected.shape
            assert got.tobytes() == expected.tobytes()  # bit-identical
    np.testing.assert_array_equal(contents.probe, inputs["probe"])
    assert contents.scaling == inputs["scaling"]
    assert contents.params == {**inputs["params"], "_version": "3.0-pytorch"}
    assert contents.settings == inputs["settings"]
    assert set(contents.extras) == set(inputs["extras"])
    for name, array in inputs["extras"].items():
        np.testing.assert_array_equal(contents.extras[name], array)


def test_a_single_mode_probe_gains_a_mode_axis(tmp_path):
    inputs = make_inputs()
    inputs["probe"] = np.ones((16, 16), np.complex128)
    probe = read_bundle(write_bundle(tmp_path, **inputs)).probe
    assert probe.shape == (1, 16, 16) and probe.dtype == np.complex64


def test_bfloat16_is_stored_as_exact_float32_and_marked(tmp_path):
    inputs = make_inputs()
    weight = torch.randn(8).to(torch.bfloat16)
    inputs["weights"]["autoencoder"]["half"] = weight
    path = write_bundle(tmp_path, **inputs)
    got = read_bundle(path).weights["autoencoder"]["half"]
    assert got.dtype == np.float32
    assert torch.equal(torch.from_numpy(got).to(torch.bfloat16), weight)
    with h5py.File(io.BytesIO(_members(path)["model.h5"]), "r") as h5:
        assert h5["weights/autoencoder/half"].attrs["torch_dtype"] == "bfloat16"


def test_tensors_that_require_grad_are_detached(tmp_path):
    inputs = make_inputs()
    inputs["weights"]["autoencoder"]["p"] = torch.nn.Parameter(torch.ones(3))
    got = read_bundle(write_bundle(tmp_path, **inputs)).weights["autoencoder"]["p"]
    np.testing.assert_array_equal(got, np.ones(3, np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_are_copied_to_the_cpu(tmp_path):
    inputs = make_inputs()
    weight = torch.randn(4, 4, device="cuda", requires_grad=True)
    inputs["weights"]["autoencoder"]["gpu"] = weight
    inputs["probe"] = torch.ones(1, 16, 16, dtype=torch.complex64, device="cuda")
    contents = read_bundle(write_bundle(tmp_path, **inputs))
    np.testing.assert_array_equal(
        contents.weights["autoencoder"]["gpu"], weight.detach().cpu().numpy()
    )
    np.testing.assert_array_equal(contents.probe, np.ones((1, 16, 16), np.complex64))


def test_existing_bundle_is_refused_without_overwrite(tmp_path):
    path = write_bundle(tmp_path, **make_inputs())
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="pass --overwrite to replace it"):
        write_bundle(tmp_path, **make_inputs())
    assert path.read_bytes() == before


def test_overwrite_replaces_the_bundle(tmp_path):
    write_bundle(tmp_path, **make_inputs())
    inputs = make_inputs()
    inputs["params"]["intensity_scale"] = 9.0
    write_bundle(tmp_path, **inputs, overwrite=True)
    assert read_bundle(tmp_path).params["intensity_scale"] == 9.0


def _unstorable_weight(inputs: dict) -> None:
    inputs["weights"]["autoencoder"]["bad"] = np.array(["a", "b"], dtype=object)


def test_failed_serialisation_leaves_no_file(tmp_path):
    inputs = make_inputs()
    _unstorable_weight(inputs)
    with pytest.raises(BundleError, match=r"weights\['autoencoder'\]\['bad'\] has dtype object"):
        write_bundle(tmp_path / "out", **inputs)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_failed_serialisation_leaves_an_existing_bundle_untouched(tmp_path):
    path = write_bundle(tmp_path, **make_inputs())
    before = path.read_bytes()
    inputs = make_inputs()
    _unstorable_weight(inputs)
    with pytest.raises(BundleError):
        write_bundle(tmp_path, **inputs, overwrite=True)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["wts.h5.zip"]


def test_failure_while_writing_the_archive_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_bundle(tmp_path, **make_inputs())
    before = path.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def fail_on_model(self, info, data, *args, **kwargs):
        if getattr(info, "filename", info) == "model.h5":
            raise OSError("disk full")
        return real_writestr(self, info, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_model)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(tmp_path, **make_inputs(), overwrite=True)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["wts.h5.zip"]


@pytest.mark.parametrize("value", [None, 0.0, -1.0, float("nan"), float("inf"), True, "2"])
def test_intensity_scale_must_be_finite_and_positive(tmp_path, value):
    inputs = make_inputs()
    inputs["params"]["intensity_scale"] = value
    with pytest.raises(BundleError, match="intensity_scale"):
        write_bundle(tmp_path, **inputs)
    assert os.listdir(tmp_path) == []


def test_missing_intensity_scale_is_refused(tmp_path):
    inputs = make_inputs()
    del inputs["params"]["intensity_scale"]
    message = r"cannot write .*wts\.h5\.zip: params\['intensity_scale'\] must be"
    with pytest.raises(BundleError, match=message):
        write_bundle(tmp_path, **inputs)


@pytest.mark.parametrize("key", ["a/b", "", "..", "."])
def test_weight_keys_that_hdf5_would_split_are_refused(tmp_path, key):
    inputs = make_inputs()
    inputs["weights"]["autoencoder"][key] = torch.ones(1)
    with pytest.raises(BundleError, match="weight key in model 'autoencoder'"):
        write_bundle(tmp_path, **inputs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda inputs: inputs.update(weights={}), "at least one model"),
        (lambda inputs: inputs["weights"]["autoencoder"].update(x="text"), "is a str"),
        (
            lambda inputs: inputs["weights"]["autoencoder"].update(x=torch.ones(2, 2).to_sparse()),
            "dense tensor",
        ),
        (lambda inputs: inputs.update(probe=np.ones((2, 16, 8))), r"shape \(P, N, N\)"),
        (lambda inputs: inputs.update(probe=np.full((16, 16), np.nan)), "non-finite"),
        (lambda inputs: inputs["scaling"].update(nphotons=float("inf")), "must be finite"),
        (lambda inputs: inputs["scaling"].update(nphotons="many"), "must be a number"),
        (lambda inputs: inputs["extras"].update(names=np.array(["a"])), "has dtype <U1"),
        (lambda inputs: inputs["settings"].update(path=object()), "settings.json cannot be"),
        (lambda inputs: inputs["params"].update(bad=float("nan")), "params.json cannot be"),
        (lambda inputs: inputs.update(settings=[1, 2]), "settings must be a mapping"),
    ],
)
def test_unstorable_inputs_are_refused_with_their_name(tmp_path, change, message):
    inputs = make_inputs()
    change(inputs)
    with pytest.raises(BundleError, match=message):
        write_bundle(tmp_path, **inputs)
    assert os.listdir(tmp_path) == []


def test_a_file_given_as_the_directory_is_refused(tmp_path):
    (tmp_path / "model").write_text("not a directory")
    with pytest.raises(BundleError, match="a file is in the way"):
        write_bundle(tmp_path / "model", **make_inputs())


def test_highly_compressible_model_is_stored_so_the_reader_accepts_it(tmp_path):
    inputs = make_inputs()
    inputs["weights"]["autoencoder"]["zeros"] = torch.zeros(2**22)  # 16 MiB of zeros
    path = write_bundle(tmp_path, **inputs)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("model.h5").compress_type == zipfile.ZIP_STORED
    assert read_bundle(path).weights["autoencoder"]["zeros"].sum() == 0
