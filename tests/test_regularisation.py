"""Dropout and the L2 penalty against torch, and their identities.

torch's dropout draws its mask from torch's generator, which NumPy cannot reproduce, so the
comparison goes through a shared mask: under one seed torch drops out the input, and under the
same seed it drops out an all-ones array of the same shape and dtype; the draw does not depend on
the values, so the entries that come back nonzero from the ones are torch's mask.  nnref gets
that mask and must give torch's value and gradient (autograd) entry by entry, with the
catalog's tolerance (0 in both dtypes: the same two roundings).  The largest differences are
written to build/verification/regularisation.json for the Regularisation page.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import RESULTS_DIR

import nnref
from nnref._generated.catalog import CATALOG

TOL = {m["name"]: m["tolerances"] for m in CATALOG if m["family"] == "regularisation"}
_ROWS: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def _write_table() -> Any:
    yield
    if _ROWS:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / "regularisation.json"
        key = lambda r: (r["op"], r["dtype"], r["p"])  # noqa: E731
        rows = {key(r): r for r in (json.loads(path.read_text())["rows"] if path.exists() else [])}
        rows |= {key(r): r for r in _ROWS}
        path.write_text(json.dumps({"torch": torch.__version__, "rows": list(rows.values())}, indent=1))


def torch_dropout(x: np.ndarray, p: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """torch's value, its gradient for upstream g, the upstream g, and torch's own mask."""
    xt = torch.tensor(x, requires_grad=True)
    torch.manual_seed(seed)
    y = F.dropout(xt, p, training=True)
    g = np.random.default_rng(seed).normal(size=x.shape).astype(x.dtype)
    (grad,) = torch.autograd.grad(y, xt, torch.tensor(g))
    torch.manual_seed(seed)
    keep = F.dropout(torch.ones_like(xt), p, training=True).detach().numpy() != 0
    return y.detach().numpy(), grad.numpy(), g, keep


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
def test_dropout_matches_torch_through_a_shared_mask(p: float, dtype: str) -> None:
    worst = {"value": 0.0, "grad": 0.0}
    tol = TOL["dropout"]["float32" if dtype == "float16" else dtype]  # the catalog's lowest precision
    for seed, shape in enumerate([(7,), (4, 5), (2, 3, 8), (3, 1, 4, 4)]):
        x = (np.random.default_rng(100 + seed).normal(size=shape) * 10).astype(dtype)
        want, want_grad, g, keep = torch_dropout(x, p, seed)
        if p < 1:  # the shared draw really is the one torch used on x
            assert np.array_equal(want != 0, keep & (x != 0))
        x_before = x.copy()
        got = nnref.dropout(x, p, True, mask=keep)
        got_grad = nnref.dropout_backward(g, x, p, True, mask=keep)["input"]
        assert np.array_equal(x, x_before), "dropout modified its input"
        assert got.dtype == x.dtype and got_grad.dtype == x.dtype
        for what, a, b in (("value", got, want), ("grad", got_grad, want_grad)):
            err = np.abs(a.astype(np.float64) - b.astype(np.float64))
            assert np.all(err <= tol["atol"] + tol["rtol"] * np.abs(b)), \
                f"dropout(p={p}, {dtype}, shape {shape}) {what}: nnref {a.ravel()[:4]} torch {b.ravel()[:4]}"
            worst[what] = max(worst[what], float(err.max(initial=0.0)))
    _ROWS.append({"op": "dropout", "dtype": dtype, "p": p, "max_abs_value": worst["value"],
                  "max_abs_grad": worst["grad"], "tolerance": tol["rtol"]})


def test_dropout_at_p_one_and_in_evaluation_mode() -> None:
    x = np.array([1.5, -2.0, 0.25])
    keep = np.array([True, True, False])
    # p = 1: zeros (value and gradient) whatever the mask says, as torch returns
    assert np.array_equal(nnref.dropout(x, 1.0, mask=keep), np.zeros(3))
    assert np.array_equal(nnref.dropout_backward(np.ones(3), x, 1.0)["input"], np.zeros(3))
    assert np.array_equal(F.dropout(torch.tensor(x), 1.0, training=True).numpy(), np.zeros(3))
    # training=False: a copy of the input, gradient passed through
    out = nnref.dropout(x, 0.5, False)
    assert np.array_equal(out, x) and out is not x and not np.shares_memory(out, x)
    assert np.array_equal(nnref.dropout_backward(np.full(3, 2.0), x, 0.5, False)["input"], np.full(3, 2.0))


def test_dropout_is_unbiased_on_average() -> None:
    # Monte Carlo over nnref's own mask draws: the mean of n samples of dropout(x) has standard
    # deviation |x|·sqrt(p/((1-p)·n)) (the variance the proofs derive); 5 of them is a false
    # alarm with probability below 1e-6 per entry.
    p, n = 0.3, 20000
    x = np.array([1.0, -3.0, 0.5, 10.0])
    rng = np.random.default_rng(5)
    samples = np.stack([nnref.dropout(x, p, rng=rng) for _ in range(n)])
    bound = 5 * np.abs(x) * np.sqrt(p / ((1 - p) * n))
    assert np.all(np.abs(samples.mean(axis=0) - x) <= bound)
    kept = (samples != 0).mean()
    assert abs(kept - (1 - p)) <= 5 * np.sqrt(p * (1 - p) / samples.size)


def test_dropout_mask_is_reproducible_from_the_generator() -> None:
    a = nnref.dropout(np.ones((3, 4)), 0.5, rng=np.random.default_rng(1))
    b = nnref.dropout(np.ones((3, 4)), 0.5, mask=nnref.dropout_mask((3, 4), 0.5, rng=np.random.default_rng(1)))
    assert np.array_equal(a, b)
    assert nnref.dropout_mask((2, 2), 0.0, rng=np.random.default_rng(0)).all()
    assert not nnref.dropout_mask((2, 2), 1.0, rng=np.random.default_rng(0)).any()


@pytest.mark.parametrize("call,words", [
    (lambda: nnref.dropout(np.ones(2), 1.5), ["dropout", "p", "[0.0, 1.0]", "1.5"]),
    (lambda: nnref.dropout(np.ones(2), -0.1), ["dropout", "p", "-0.1"]),
    (lambda: nnref.dropout(np.ones(2), "half"), ["dropout", "p", "real number", "'half'"]),
    (lambda: nnref.dropout(np.ones(2), 0.5, training=1), ["dropout", "training", "True or False", "int"]),
    (lambda: nnref.dropout(np.ones(2), 0.5, mask=np.ones(2)), ["dropout", "mask", "boolean", "float64"]),
    (lambda: nnref.dropout(np.ones(2), 0.5, mask=np.ones(3, bool)), ["dropout", "mask", "(2,)", "(3,)"]),
    (lambda: nnref.dropout(np.ones(2), 0.5, rng=3), ["dropout: rng", "Generator", "int"]),
    (lambda: nnref.dropout_mask((2, -1), 0.5), ["dropout_mask", "shape", "non-negative ints", "(2, -1)"]),
    (lambda: nnref.dropout_backward(np.ones(2), np.ones(2), 0.5), ["dropout_backward", "mask", "None"]),
    (lambda: nnref.dropout_backward(np.ones(3), np.ones(2), 0.5, mask=np.ones(2, bool)),
     ["dropout_backward", "grad_output", "(2,)", "(3,)"]),
    (lambda: nnref.l2_penalty(np.ones(2), -1.0), ["l2_penalty", "weight_decay", "-1.0"]),
    (lambda: nnref.l2_penalty(np.ones(2, dtype=int), 1.0), ["l2_penalty", "param", "int64"]),
])
def test_errors_name_the_argument(call: Any, words: list[str]) -> None:
    with pytest.raises(nnref.NNRefError) as exc:
        call()
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_l2_penalty_matches_torch_autograd(dtype: str) -> None:
    tol = TOL["l2_penalty"][dtype]
    worst = 0.0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        theta = rng.normal(size=(3, 4)).astype(dtype)
        lam, g = float(rng.uniform(0, 0.5)), float(rng.normal())
        tt = torch.tensor(theta, requires_grad=True)
        value = lam / 2 * (tt.double() ** 2).sum()
        (grad,) = torch.autograd.grad(value, tt, torch.tensor(g, dtype=torch.float64))
        got = nnref.l2_penalty(theta, lam)
        got_grad = nnref.l2_penalty_backward(np.array(g, dtype=dtype), theta, lam)["param"]
        np.testing.assert_allclose(got, value.item(), rtol=tol["rtol"], atol=tol["atol"])
        np.testing.assert_allclose(got_grad, grad.numpy(), rtol=tol["rtol"], atol=tol["atol"])
        worst = max(worst, float(np.max(np.abs(got_grad - grad.numpy()) / np.maximum(np.abs(grad.numpy()), 1e-300))))
    _ROWS.append({"op": "l2_penalty", "dtype": dtype, "p": None, "max_abs_value": 0.0, "max_abs_grad": worst,
                  "tolerance": tol["rtol"]})


def test_penalty_gradient_is_sgd_weight_decay_numerically() -> None:
    # SGD with weight_decay on g, and plain SGD on g plus the penalty's gradient: the same step,
    # bit for bit (both add weight_decay·θ to the gradient), and torch agrees.
    rng = np.random.default_rng(3)
    theta, g, lam = rng.normal(size=5), rng.normal(size=5), 0.05
    decayed, _ = nnref.optim.sgd(theta, g, lr=0.1, weight_decay=lam)
    penalised, _ = nnref.optim.sgd(theta, g + nnref.l2_penalty_backward(np.array(1.0), theta, lam)["param"], lr=0.1)
    assert np.array_equal(decayed, penalised)
    tt = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.SGD([tt], lr=0.1, foreach=False)
    loss = (tt * torch.tensor(g)).sum() + lam / 2 * (tt**2).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(penalised, tt.detach().numpy(), rtol=1e-15, atol=1e-16)


def test_identities_are_proved() -> None:
    from derivations.proofs.regularisation import prove_regularisation

    proofs = prove_regularisation()
    assert len(proofs) == 5 and all(p.holds for p in proofs), [p for p in proofs if not p.holds]


def test_cli_lists_the_new_functions_with_their_parameters() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "nnref", "ops", "--json"], capture_output=True, text=True, check=True)
    listed = {e["name"]: e for e in json.loads(out.stdout)}
    params = {name: [(p["name"], p["default"]) for p in listed[name]["params"]] for name in
              ("dropout", "l2_penalty", "receptive_field", "linear_parameter_count", "conv_parameter_count")}
    assert params["dropout"] == [("p", 0.5), ("training", True), ("rng", None), ("mask", None)]
    assert params["l2_penalty"] == [("weight_decay", 0.0)]
    assert params["receptive_field"] == [("layers", None)]
    assert params["conv_parameter_count"] == [("in_channels", None), ("out_channels", None), ("kernel_size", None),
                                              ("groups", 1), ("bias", True)]
    assert listed["dropout"]["backward"] == "nnref.dropout_backward" and listed["dropout"]["crosscheck"] == "mask"
