"""``from_frames``: encoding tables into tensors, and the bad-data errors every loader shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtlsearch.data import TaskColumns, TaskSpec, from_frames
from mtlsearch.errors import MtlsearchError


def frames(**overrides):
    base = pd.DataFrame(
        {
            "city": ["a", "b", "a", "c"],
            "age": [10.0, 20.0, 30.0, 40.0],
            "click": [0, 1, 1, 0],
            "watch": [np.nan, 0.5, 0.7, np.nan],
        }
    )
    out = {"train": base, "validation": base.assign(city=["a", "z", "b", "c"]), "test": base}
    for name, frame in overrides.items():
        out[name] = frame
    return out


TASKS = [
    TaskColumns(TaskSpec("click", "binary"), "click"),
    TaskColumns(TaskSpec("watch", "regression", "task:click"), "watch", positive_of="click"),
]


def encode(**overrides):
    return from_frames("t", frames(**overrides), categorical=["city"], numeric=["age"], tasks=TASKS, source="t.csv")


def test_vocabulary_from_train_and_unknown_maps_to_zero():
    data = encode()
    assert data.vocabularies == (("a", "b", "c"),)
    assert data.features.vocab_sizes == (4,)
    assert data.validation.categorical[:, 0].tolist() == [1, 0, 2, 3]  # "z" is unseen in train


def test_numeric_standardised_with_train_statistics():
    data = encode(validation=frames()["train"].assign(age=[25.0] * 4))
    assert data.train.numeric.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert data.validation.numeric[0, 0].item() == pytest.approx(0.0, abs=1e-6)  # 25 is train's mean


def test_sample_space_from_another_tasks_positives():
    data = encode()
    assert data.train.masks[:, 1].tolist() == [False, True, True, False]
    assert data.train.labels[:, 1].tolist() == pytest.approx([0.0, 0.5, 0.7, 0.0])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train": frames()["train"].drop(columns="age")}, "t.csv (train): column 'age' not found"),
        ({"train": frames()["train"].assign(age=[1.0, np.nan, 2.0, 3.0])}, "numeric column 'age' has 1 missing, NaN"),
        ({"test": frames()["test"].assign(click=[0, 2, 1, 0])}, "binary label column 'click' holds 2.0"),
        ({"test": frames()["test"].assign(click=[0, np.nan, 1, 0])}, "label column 'click' has 1 missing"),
        ({"validation": frames()["train"].iloc[:0]}, "the validation split is empty"),
        ({"test": frames()["test"].assign(click=[0, 0, 0, 0])}, "task 'watch' has an empty sample space in the test"),
    ],
)
def test_bad_data_is_one_clear_line(overrides, message):
    with pytest.raises(MtlsearchError) as info:
        encode(**overrides)
    text = str(info.value)
    assert message in text and "\n" not in text and "fix:" in text
