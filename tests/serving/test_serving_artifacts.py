"""``train``'s serving artifacts: parity with the eager network, OOV codes, dtypes, model card, failures."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import mtlsearch.serving
from mtlsearch.config import run_config_from_dict
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ARCHITECTURES
from mtlsearch.serving import FORMATS, ServingModel, load_artifact, onnx_missing, raw_inputs, reference_scores
from mtlsearch.training import _artifacts as artifacts_module
from mtlsearch.training import prepare_data, train
from mtlsearch.training._artifacts import write_artifacts

ONNX_REASON = onnx_missing()
ONNX_SKIP = bool(ONNX_REASON) and not os.environ.get("CI")  # CI installs mtlsearch[onnx]: there the tests must run


def _formats() -> list:
    return [
        pytest.param(name, marks=pytest.mark.skipif(name == "onnx" and ONNX_SKIP, reason=str(ONNX_REASON)))
        for name in FORMATS
    ]


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_artifact_of_every_architecture_matches_the_eager_network(architecture, table_file, config_for, tmp_path):
    config = run_config_from_dict(config_for(table_file, architecture))
    data = prepare_data(config)
    result = train(config, data)
    formats = tuple(f for f in FORMATS if f != "onnx" or not ONNX_REASON)
    written = write_artifacts(result, tmp_path / "run", data, formats=formats)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["parity"]["max_abs_diff"]) == set(formats) == set(written.parity)
    assert metrics["parity"]["rows"] == len(data.validation)
    # Checked here again, independently of train's own check, on every validation row.
    reference = reference_scores(result.network, data, data.validation, 1000)
    codes, values = raw_inputs(data.validation, data)
    for name in formats:
        scores = load_artifact(name, tmp_path / "run" / FORMATS[name].file)(codes.numpy(), values.numpy())
        assert scores.shape == (len(data.validation), 2)
        assert np.abs(scores - reference.numpy()).max() <= 1e-5, name


@pytest.mark.parametrize("name", _formats())
def test_out_of_range_codes_score_as_the_feature_oov_index(name, trained):
    out, result, data = trained
    predictor = load_artifact(name, out / FORMATS[name].file)
    codes, values = (x[:6].clone() for x in raw_inputs(data.validation, data))
    user_size, item_size = data.features.vocab_sizes
    bad = codes.clone()
    bad[:, 0] = torch.tensor([user_size, user_size + 1, 10_000, -1, -7, 2**40])  # past the vocabulary, negative
    bad[:3, 1] = torch.tensor([item_size, -2, 999])
    oov = codes.clone()
    oov[:, 0] = 0
    oov[:3, 1] = 0
    got = predictor(bad.numpy(), values.numpy())
    want = predictor(oov.numpy(), values.numpy())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    # The code user_size would read item's row 0 of the shared table: it must not equal that.
    eager = ServingModel(result.network, data).eval()
    with torch.no_grad():
        np.testing.assert_allclose(eager(bad, values).numpy(), want, atol=1e-5)


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")
def test_eager_and_torchscript_models_accept_float64_and_int32_input(trained):
    out, result, data = trained
    codes, values = raw_inputs(data.validation, data)
    eager = ServingModel(result.network, data).eval()
    with torch.no_grad():
        want = eager(codes, values)
        np.testing.assert_allclose(eager(codes.int(), values.double()).numpy(), want.numpy(), atol=1e-6)
        scripted = mtlsearch.serving.load_artifact("torchscript", out / "model.pt")  # quiet torch.jit.load
        np.testing.assert_allclose(scripted(codes.numpy(), values.numpy()), want.numpy(), atol=1e-6)
        scripted = torch.jit.load(str(out / "model.pt"))
        np.testing.assert_allclose(scripted(codes.int(), values.double()).numpy(), want.numpy(), atol=1e-6)


def test_default_train_writes_pt2_and_onnx_and_no_warning_reaches_the_user(trained, tmp_path):
    _, result, data = trained
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_artifacts(result, tmp_path / "run", data)
        scorer = mtlsearch.serving.load(tmp_path / "run")
    assert [str(w.message) for w in caught] == []
    expected = {"model.pt2"} if ONNX_REASON else {"model.pt2", "model.onnx"}
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert expected <= files and "model.pt" not in files
    assert scorer.format == "pt2" and set(written.parity) == {f.split(".")[1] for f in expected}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left behind


def test_without_onnx_the_pt2_is_written_and_the_reason_given(trained, tmp_path, monkeypatch):
    _, result, data = trained
    monkeypatch.setattr(artifacts_module, "onnx_missing", lambda: "onnxruntime not installed (pip install ...)")
    written = write_artifacts(result, tmp_path / "run", data)
    assert written.skipped == {"onnx": "onnxruntime not installed (pip install ...)"}
    assert (tmp_path / "run" / "model.pt2").is_file() and not (tmp_path / "run" / "model.onnx").exists()
    with pytest.raises(MtlsearchError, match="cannot write model.onnx"):
        write_artifacts(result, tmp_path / "again", data, formats=("onnx",), explicit=True)
    assert not (tmp_path / "again").exists()


def test_a_failed_parity_check_names_the_artifact_and_writes_nothing(trained, tmp_path, monkeypatch):
    _, result, data = trained
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")  # an earlier run's file stays as it was
    real = artifacts_module.load_artifact

    def skewed(name, path, **kwargs):
        predictor = real(name, path, **kwargs)
        return (lambda c, v: predictor(c, v) + 3e-4) if name == "pt2" else predictor

    monkeypatch.setattr(artifacts_module, "load_artifact", skewed)
    with pytest.raises(MtlsearchError) as error:
        write_artifacts(result, run, data, formats=("torchscript", "pt2"))
    assert "model.pt2 differs from the trained network by 0.0003" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in run.iterdir()] == ["metrics.json"] and (run / "metrics.json").read_text() == "{}"


def test_model_card_describes_the_model_and_its_load_lines_work(trained):
    out, result, data = trained
    card = json.loads((out / "model_card.json").read_text())
    assert card["model"]["n_parameters"] == result.network.n_parameters
    assert card["model"]["architecture"] == "ple"
    assert card["data"]["categorical"] == {"user": 13, "item": 11}
    assert card["data"]["source"]["name"] == "tabular"
    assert set(card["tasks"]) == {"ctr", "cvr"}
    assert card["tasks"]["cvr"]["validation"]["auc"] == result.validation["cvr/auc"]
    assert card["versions"]["torch"] == torch.__version__ and card["versions"]["optuna"]
    codes, values = (x.numpy() for x in raw_inputs(data.validation, data))
    reference = reference_scores(result.network, data, data.validation, 100).numpy()
    for name, entry in card["artifacts"].items():
        lines = entry["load"]
        assert len(lines) == 3
        scope = {"codes": codes, "values": values}
        if name != "onnx":
            scope = {"codes": torch.from_numpy(codes), "values": torch.from_numpy(values)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation: the card's reader's concern
            exec("\n".join(lines).replace("MODEL_DIR", str(out)), scope)
        np.testing.assert_allclose(np.asarray(scope["scores"]), reference, atol=1e-5)
    if "onnx" in card["artifacts"]:
        assert card["artifacts"]["onnx"]["opset"] >= 18


def test_load_scores_a_dataframe_of_raw_values_like_training(trained, table_file):
    out, result, data = trained
    table = pd.read_csv(table_file)
    validation = table[table["split"] == "validation"].reset_index(drop=True)
    reference = reference_scores(result.network, data, data.validation, 100).numpy()
    for fmt in [f for f in FORMATS if f != "onnx" or not ONNX_REASON]:
        scorer = mtlsearch.serving.load(out, format=fmt)
        scores = scorer(validation)
        assert list(scores.columns) == ["ctr", "cvr"]
        np.testing.assert_allclose(scores.to_numpy(), reference, atol=1e-5)
    # float64, float32 and int32 numeric columns (numpy's and pandas' defaults) all score the same
    scorer = mtlsearch.serving.load(out)
    base = scorer(validation)
    for dtype in ("float64", "float32"):
        np.testing.assert_allclose(scorer(validation.astype({"price": dtype, "age": dtype})), base, atol=1e-6)
    np.testing.assert_allclose(scorer(validation.astype({"age": "int32", "item": "int64"})), base, atol=1e-6)
    # a category never seen in training scores through OOV (code 0)
    unseen = validation.assign(user="never-seen-user")
    codes, values = scorer.encode(validation)
    codes[:, 0] = 0
    np.testing.assert_allclose(scorer(unseen).to_numpy(), scorer.score_arrays(codes, values), atol=1e-7)


def test_load_refuses_a_missing_column_and_a_non_numeric_value(trained, table_file):
    out, _, _ = trained
    scorer = mtlsearch.serving.load(out)
    table = pd.read_csv(table_file)
    with pytest.raises(MtlsearchError, match="column 'price' not found"):
        scorer(table.drop(columns="price"))
    with pytest.raises(MtlsearchError, match="numeric column 'age' has 1 missing, NaN or non-numeric"):
        scorer(table.astype({"age": object}).assign(age=["x", *table["age"][1:]]))


def test_an_exporter_failure_is_one_error_naming_the_artifact(trained, tmp_path, monkeypatch):
    _, result, data = trained

    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported op aten::made_up\nlong traceback text")

    monkeypatch.setattr(torch.export, "export", refuse)
    with pytest.raises(MtlsearchError) as error:
        write_artifacts(result, tmp_path / "runs" / "best", data, formats=("pt2",))
    assert str(error.value).startswith(
        "model.pt2: cannot export model.pt2: RuntimeError: Unsupported op aten::made_up ("
    )
    # nothing written: not the folder, not the missing parent folder above it, no staging folder
    assert "\n" not in str(error.value) and list(tmp_path.iterdir()) == []
