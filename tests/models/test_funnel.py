"""ESMM product tasks: the product logit, the funnel in the network, and their validation."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from mtlsearch.analysis import expert_utilisation
from mtlsearch.cli import main
from mtlsearch.config import run_config_from_dict
from mtlsearch.data import FeatureSpec, TaskSpec, check_products, load_dataset
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ModelConfig, MultiTaskNetwork
from mtlsearch.models._funnel import product_logit
from mtlsearch.serving import load
from mtlsearch.training import train

ARCHITECTURES = ("single-task", "shared-bottom", "mmoe", "cgc", "ple")


def test_product_probability_is_the_product_of_the_parents():
    logits = torch.randn(500, 3, dtype=torch.float64) * 4
    for n in (2, 3):
        expected = torch.sigmoid(logits[:, :n]).prod(1)
        assert torch.allclose(torch.sigmoid(product_logit(logits[:, :n])), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_product_logit_is_stable_at_extreme_logits(dtype):
    a = torch.tensor([[1e4, 1e4], [-1e4, -1e4], [1e4, -1e4], [80.0, 80.0], [-80.0, 30.0], [0.0, 1e30]], dtype=dtype)
    a.requires_grad_(True)
    out = product_logit(a)
    # p = (1 - e^-x)^2 -> logit = x - log 2 for large x; a product of tiny probabilities sums the logits
    assert out[0].item() == pytest.approx(1e4 - torch.log(torch.tensor(2.0)).item(), rel=1e-6)
    assert out[1].item() == pytest.approx(-2e4, rel=1e-6)
    assert out[2].item() == pytest.approx(-1e4, rel=1e-6)
    assert out[3].item() == pytest.approx(80 - 0.6931471805599453, abs=1e-3)
    assert out[5].item() == pytest.approx(0.0, abs=1e-6)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out, torch.tensor([1.0, 0, 0, 1, 0, 1], dtype=dtype))
    loss.backward()
    assert torch.isfinite(out).all() and torch.isfinite(loss) and torch.isfinite(a.grad).all()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_gradient_of_the_product_reaches_both_parent_towers(architecture):
    torch.manual_seed(0)
    features = FeatureSpec(categorical=("c",), vocab_sizes=(5,), numeric=("a", "b"))
    # tasks: ctr, cvr, ctcvr = ctr * cvr
    net = MultiTaskNetwork(ModelConfig.create(architecture), features, 3, products={2: (0, 1)})
    assert net.n_tasks == 2 and net.n_outputs == 3 and net.towers.layers[-1].weight.shape[0] == 2
    categorical, numeric = torch.randint(0, 5, (64, 1)), torch.randn(64, 2)
    logits = net(categorical, numeric)  # (B, 3)
    assert logits.shape == (64, 3)
    expected = torch.sigmoid(logits[:, 0]) * torch.sigmoid(logits[:, 1])
    assert torch.allclose(torch.sigmoid(logits[:, 2]), expected, atol=1e-6)
    # A loss on the product task alone trains both parents' towers.
    torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 2], torch.ones(64)).backward()
    tower_grad = net.towers.layers[-1].weight.grad  # (towers, d, 1)
    assert (tower_grad.abs().sum(dim=(1, 2)) > 0).all()


def test_products_in_any_task_order():
    net = MultiTaskNetwork(ModelConfig.create("mmoe"), FeatureSpec(numeric=("a",)), 3, products={0: (2, 1)})
    logits = net(torch.zeros(4, 0, dtype=torch.long), torch.randn(4, 1))
    expected = torch.sigmoid(logits[:, 1]) * torch.sigmoid(logits[:, 2])
    assert torch.allclose(torch.sigmoid(logits[:, 0]), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([TaskSpec("ctr", "binary"), TaskSpec("x", "binary", product_of=("ctr", "cvr"))], "unknown task 'cvr'"),
        (
            [TaskSpec("ctr", "binary"), TaskSpec("t", "regression"), TaskSpec("x", "binary", product_of=("ctr", "t"))],
            "'t', a regression task",
        ),
        ([TaskSpec("ctr", "binary"), TaskSpec("x", "binary", product_of=("ctr", "x"))], "names itself"),
        ([TaskSpec("ctr", "binary"), TaskSpec("x", "binary", product_of=("ctr",))], "two or more different"),
        ([TaskSpec("ctr", "binary"), TaskSpec("x", "binary", product_of=("ctr", "ctr"))], "two or more different"),
        (
            [TaskSpec("a", "binary"), TaskSpec("b", "binary"), TaskSpec("x", "regression", product_of=("a", "b"))],
            "is regression; a product",
        ),
        (
            [
                TaskSpec("a", "binary"),
                TaskSpec("b", "binary"),
                TaskSpec("x", "binary", product_of=("a", "b")),
                TaskSpec("y", "binary", product_of=("a", "x")),
            ],
            "itself a product task",
        ),
    ],
)
def test_bad_products_are_refused(tasks, message):
    with pytest.raises(MtlsearchError, match=message) as info:
        check_products(tasks, [f"tasks[{i}]" for i in range(len(tasks))])
    assert "\n" not in str(info.value) and "fix:" in str(info.value)


@pytest.fixture
def esmm_data(data_dir):
    return load_dataset("ali-ccp", {"path": str(data_dir / "ali-ccp-sample"), "tasks": "esmm"})


def test_a_product_task_trained_without_its_parents_is_a_plain_task(esmm_data):
    alone = esmm_data.select_tasks(["ctcvr"])
    assert alone.tasks[0].product_of == () and alone.products == {} and alone.train.masks.all()
    assert torch.equal(alone.train.labels[:, 0], esmm_data.train.labels[:, 2])
    reordered = esmm_data.select_tasks(["ctcvr", "cvr", "ctr"])
    assert reordered.products == {0: (2, 1)}


def test_esmm_trains_end_to_end_and_its_gates_name_only_tower_tasks(esmm_data):
    config = run_config_from_dict(
        {
            "data": {"name": "ali-ccp"},
            "model": {"architecture": "cgc", "expert_hidden": [8], "tower_hidden": [4]},
            "tasks": [{"name": "ctr"}, {"name": "cvr", "weight": 0.0}, {"name": "ctcvr"}],  # ESMM exactly
            "training": {"epochs": 1, "batch_size": 32},
        }
    )
    result = train(config, esmm_data)
    assert {"ctr/auc", "cvr/auc", "ctcvr/auc"} <= set(result.test)
    logits = result.network(esmm_data.test.categorical, esmm_data.test.numeric)
    probability = torch.sigmoid(logits)
    assert torch.allclose(probability[:, 2], probability[:, 0] * probability[:, 1], atol=1e-6)
    stats = expert_utilisation(result.network, esmm_data.validation, esmm_data.task_names)
    assert [g["gate"] for g in stats["levels"][0]["gates"]] == ["ctr", "cvr"]
    single = train(run_config_from_dict({**config.to_dict(), "tasks": [{"name": "ctcvr"}]}), esmm_data)
    assert single.network.n_tasks == 1 and "ctcvr/auc" in single.test


def test_esmm_serves_the_product_through_every_artifact(data_dir, tmp_path):
    config = tmp_path / "esmm.yaml"
    config.write_text(
        f"data: {{name: ali-ccp, options: {{path: {data_dir / 'ali-ccp-sample'}, tasks: esmm}}}}\n"
        "model: {architecture: ple, expert_hidden: [8], tower_hidden: [4]}\n"
        "training: {epochs: 1, batch_size: 32}\n"
    )
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 0
    rows = pd.read_csv(data_dir / "ali-ccp-sample" / "ali_ccp_test_sample.csv", dtype=str)
    for fmt in ("pt2", "onnx"):
        scores = load(tmp_path / "run", format=fmt)(rows)
        assert list(scores.columns[:3]) == ["ctr", "cvr", "ctcvr"]
        assert (scores["ctcvr"] - scores["ctr"] * scores["cvr"]).abs().max() < 1e-6
