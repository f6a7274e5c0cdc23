"""One worker, a seeded sampler: two runs of a study into fresh storages agree trial by trial."""

from __future__ import annotations

import pytest

from mtlsearch.search import optimize


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_two_seeded_runs_give_the_same_parameters_and_metrics(tiny_study, tmp_path, sampler):
    study_file = str(tiny_study(sampler={"name": sampler, "seed": 3}))
    runs = [optimize(study_file, n_trials=3, storage=f"sqlite:///{tmp_path / f'run{i}.db'}").trials for i in range(2)]
    first, second = runs
    assert len(first) == len(second) == 3
    for a, b in zip(first, second):
        assert a.params == b.params
        assert a.values == b.values
        assert a.user_attrs["test"] == b.user_attrs["test"]
        assert a.user_attrs["history"] == b.user_attrs["history"]
    assert len({tuple(sorted(t.params.items())) for t in first}) > 1  # the sampler did vary them
