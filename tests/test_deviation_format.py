"""The deviation file's ``"where"`` condition (``nnref.conformance.deviations``): an entry
named by a relation among inputs and parameters counts exactly where that relation holds, in
the case's own arithmetic, and a malformed condition is refused when the file is read.

Owns: the tests of the deviation format's conditions.  Imports: pytest, NumPy, ``nnref.conformance.deviations``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnref._generated.catalog import CATALOG
from nnref.conformance import deviations

META = {m["name"]: m for m in CATALOG}
KINK = "-target * (input1 - input2) + margin == 0"


def _entry(op: str, direction: str, where: str, value: str = "0.0", **extra: Any) -> dict[str, Any]:
    return {"op": op, "params": {}, "dtype": "float64", "direction": direction, "input": {}, "where": where,
            "impl": value, "nnref": "-", **extra}


def _mask(dev: dict[str, Any], inputs: dict[str, Any], params: dict[str, Any], actual: Any,
          dtype: str = "float64") -> list[bool]:
    dev = {**dev, "dtype": dtype}
    mask, _ = deviations.explained((dev,), "impl", META[dev["op"]], params, dtype, dev["direction"], inputs,
                                   np.asarray(actual, dtype=dtype))
    return mask.tolist()


def test_a_kink_that_moves_with_a_parameter_counts_only_on_it() -> None:
    dev = _entry("margin_ranking_loss", "d/dinput1", KINK)
    inputs = {"input1": np.array([1.0, 0.0, 0.5, 1.0]), "input2": np.array([0.0, 1.0, 0.5, 0.0]),
              "target": np.array([1.0, -1.0, 1.0, -1.0])}
    # margin 1: −y·(x1 − x2) + 1 is 0, 0, 1, 2 here
    assert _mask(dev, inputs, {"margin": 1.0, "reduction": "none"}, [0.0] * 4) == [True, True, False, False]
    # the recorded value must match too: a 5 where the implementation should give 0 is not excused
    assert _mask(dev, inputs, {"margin": 1.0, "reduction": "none"}, [5.0, 0.0, 0.0, 0.0]) == [False, True, False, False]
    # margin 0 (the default): only the third entry is on the kink
    assert _mask(dev, inputs, {"reduction": "none"}, [0.0] * 4) == [False, False, True, False]


def test_a_float_parameter_is_taken_in_the_cases_dtype() -> None:
    # float32(0.1) − float32(0.1) is 0; float32(0.1) against the float64 0.1 is not.
    dev = _entry("margin_ranking_loss", "d/dinput1", KINK)
    inputs = {"input1": np.array([0.1], dtype=np.float32), "input2": np.array([0.0], dtype=np.float32),
              "target": np.array([1.0], dtype=np.float32)}
    assert _mask(dev, inputs, {"margin": 0.1, "reduction": "none"}, [0.0], "float32") == [True]
    assert float(np.float32(0.1)) != 0.1


def test_a_condition_on_the_whole_case_counts_everywhere_or_nowhere() -> None:
    dev = _entry("cross_entropy", "d/dinput", "all(target == ignore_index)", "nan")
    x = np.zeros((2, 3))
    nan = np.full((2, 3), np.nan)
    params = {"ignore_index": 1, "reduction": "mean"}
    assert _mask(dev, {"input": x, "target": np.array([1, 1])}, params, nan) == [[True] * 3] * 2
    assert _mask(dev, {"input": x, "target": np.array([1, 0])}, params, nan) == [[False] * 3] * 2


def test_kept_weights_summing_to_zero_and_a_missing_weight() -> None:
    dev = _entry("nll_loss", "d/dinput", "sum(where(target == ignore_index, 0, take(weight, target))) == 0", "nan")
    x, nan = np.zeros((2, 2)), np.full((2, 2), np.nan)
    base = {"ignore_index": 0, "reduction": "mean"}
    # ignore_index 0 drops the second sample; the first one's class (1) weighs 0, then 2
    assert _mask(dev, {"input": x, "target": np.array([1, 0])}, {**base, "weight": np.array([3.0, 0.0])}, nan) \
        == [[True, True], [True, True]]
    assert _mask(dev, {"input": x, "target": np.array([1, 0])}, {**base, "weight": np.array([0.0, 2.0])}, nan) \
        == [[False, False], [False, False]]
    # no weight given: a condition naming it does not hold (rather than failing the run)
    assert _mask(dev, {"input": x, "target": np.array([0, 0])}, base, nan) == [[False, False], [False, False]]


def test_a_condition_of_another_shape_does_not_hold() -> None:
    # an (N,) condition is not aligned with the class axis of an (N, N) result
    dev = _entry("cross_entropy", "d/dinput", "target == ignore_index", "nan")
    nan = np.full((2, 2), np.nan)
    got = _mask(dev, {"input": np.zeros((2, 2)), "target": np.array([1, 0])}, {"ignore_index": 1}, nan)
    assert got == [[False, False], [False, False]]
    # inputs whose shapes do not combine: the condition does not hold, and the run goes on
    dev = _entry("margin_ranking_loss", "d/dinput1", KINK)
    inputs = {"input1": np.zeros(2), "input2": np.zeros(3), "target": np.zeros(2)}
    assert _mask(dev, inputs, {"reduction": "none"}, [0.0, 0.0]) == [False, False]


@pytest.mark.parametrize("where,why", [
    ("__import__('os').getcwd() == 0", "a call of"),
    ("input1.real == 0", "Attribute is not allowed"),
    ("input1[0] == 0", "Subscript is not allowed"),
    ("input1 == 'a'", "number literals only"),
    ("input1 ==", "expected an expression"),
    ("sum(input1, input2) == 0", "a call of"),
])
def test_a_malformed_condition_is_refused_when_the_file_is_read(tmp_path: Path, where: str, why: str) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"implementation": "impl",
                                "deviations": [_entry("margin_ranking_loss", "d/dinput1", where)]}))
    with pytest.raises(ValueError, match="--deviations") as info:
        deviations.read(path)
    assert "'where'" in str(info.value) and why in str(info.value)


@pytest.mark.parametrize("where,why", [("input3 == 0", "unknown name 'input3'"),
                                       ("input1 - input2", "expected a condition")])
def test_a_condition_naming_nothing_or_giving_numbers_is_an_error(where: str, why: str) -> None:
    dev = _entry("margin_ranking_loss", "d/dinput1", where)
    inputs = {k: np.zeros(2) for k in ("input1", "input2", "target")}
    with pytest.raises(ValueError, match=why):
        _mask(dev, inputs, {"reduction": "none"}, [0.0, 0.0])
