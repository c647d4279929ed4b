"""Optimizers against torch.optim (torch 2.13, its single-tensor path: foreach=False), step by step.

hypothesis draws the hyperparameters (every flag included), a parameter array and a sequence of
100 gradients; nnref's pure function and torch's optimizer run side by side, and after every step
the parameter and every state array must agree within the record's tolerance (float64: rtol
1e-12; float32: declared in derivations/ops/optim.py with its reason).  A fixed table of
hyperparameter sets is also run, and its largest differences are written to
build/verification/optim.json for the Optimizers page.

The comparison is |nnref - torch| <= rtol·|torch| + rtol·max|torch| per step: the second term
is a normwise floor, because each step adds a term of the parameters' size, so an entry that
passes near zero carries an absolute rounding error of that size, not of its own.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RESULTS_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

import nnref
from nnref._generated.catalog import CATALOG

STEPS = 100
TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
         "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
# torch's state names, where they differ from nnref's
TORCH_STATE = {"momentum_buffer": "momentum_buffer", "sum": "sum"}
TOL = {m["name"]: m["tolerances"] for m in CATALOG if m["crosscheck"] == "trajectory"}


def run(name: str, hp: dict[str, Any], dtype: str, seed: int, shape: tuple[int, ...] = (3, 4),
        steps: int = STEPS) -> dict[str, float]:
    """Both optimizers over ``steps`` random gradients; returns the largest elementwise and
    normwise relative differences seen, after asserting the tolerance at every step."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=shape).astype(dtype)
    grads = (rng.normal(size=(steps, *shape)) * rng.uniform(0.1, 3)).astype(dtype)
    tp = torch.tensor(p0.copy(), requires_grad=True)
    opt = TORCH[name]([tp], foreach=False, **hp)
    fn = getattr(nnref.optim, name)
    tol = TOL[name][dtype]["rtol"]
    param, state = p0, None
    worst = {"elementwise": 0.0, "normwise": 0.0}
    for k in range(steps):
        tp.grad = torch.tensor(grads[k])
        opt.step()
        param, state = fn(param, grads[k], state, **hp)
        assert param.dtype == np.dtype(dtype) and state["step"] == k + 1
        tstate = opt.state[tp]
        pairs = [("param", param, tp.detach().numpy())]
        pairs += [(key, state[key], tstate[TORCH_STATE.get(key, key)].numpy()) for key in state if key != "step"]
        for what, got, want in pairs:
            err = np.abs(got.astype(np.float64) - want)
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            # written as "not within" so that a NaN where torch has a number fails (NaN > x is False)
            bad = ~(err <= tol * np.abs(want) + tol * scale)
            assert not bad.any(), (f"{name}({hp}) [{dtype}] step {k + 1}: {what} differs from torch.optim by"
                                   f" {err.max():.3g} (rtol {tol}); nnref {got[bad][:3]}, torch {want[bad][:3]}")
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(want != 0, err / np.abs(want), np.where(err == 0, 0.0, np.inf))
            worst["elementwise"] = max(worst["elementwise"], float(rel.max(initial=0.0)))
            worst["normwise"] = max(worst["normwise"], float(err.max(initial=0.0)) / scale if scale else 0.0)
    return worst


def _flags(draw: Any) -> bool:
    return bool(draw(st.booleans()))


@st.composite
def hyper(draw: Any, name: str) -> dict[str, Any]:
    small = st.one_of(st.just(0.0), st.floats(0.0, 0.1))
    hp: dict[str, Any] = {"weight_decay": draw(small), "maximize": _flags(draw)}
    if name == "sgd":
        momentum = draw(st.one_of(st.just(0.0), st.floats(0.01, 0.99)))
        nesterov = momentum > 0 and _flags(draw)
        hp |= {"lr": draw(st.floats(1e-3, 0.3)), "momentum": momentum, "nesterov": nesterov,
               "dampening": 0.0 if nesterov else draw(st.one_of(st.just(0.0), st.floats(0.0, 0.5)))}
    elif name in ("adam", "adamw"):
        hp |= {"lr": draw(st.floats(1e-4, 0.1)), "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.0, 0.9999))),
               "eps": draw(st.one_of(st.just(1e-8), st.floats(1e-10, 1e-3))), "amsgrad": _flags(draw)}
    elif name == "rmsprop":
        # alpha >= 0.1: as alpha -> 0 the centred variance square_avg - grad_avg² cancels to a
        # rounding residual (exactly 0 at alpha = 0), which torch's fused multiply-add keeps and
        # a separate product and subtraction do not; divided by eps it is noise, not arithmetic.
        hp |= {"lr": draw(st.floats(1e-4, 0.05)), "alpha": draw(st.floats(0.1, 0.999)),
               "eps": draw(st.one_of(st.just(1e-8), st.floats(1e-10, 1e-3))),
               "momentum": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.9))), "centered": _flags(draw)}
    else:
        hp |= {"lr": draw(st.floats(1e-3, 0.5)), "lr_decay": draw(st.floats(0.0, 0.5)),
               "initial_accumulator_value": draw(st.floats(0.0, 1.0)),
               "eps": draw(st.one_of(st.just(1e-10), st.floats(1e-12, 1e-4)))}
    return hp


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(TORCH))
def test_matches_torch_optim_at_every_step(name: str, dtype: str) -> None:
    # 6 drawn configurations × 100 steps per optimizer and dtype keeps the file near 10 s.
    @settings(max_examples=6)
    @given(hp=hyper(name), seed=st.integers(0, 2**16),
           shape=st.tuples(st.integers(1, 4), st.integers(1, 5)))
    def check(hp: dict[str, Any], seed: int, shape: tuple[int, int]) -> None:
        run(name, hp, dtype, seed, shape)

    check()


# The table on the Optimizers page: named hyperparameter sets, fixed seeds.
TABLE = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("adam", {"lr": 0.01, "betas": (0.3, 0.4)}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.3, "centered": True}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.1}),
]
_ROWS: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def _write_table() -> Any:
    yield
    if _ROWS:
        # merged with rows already there, so that a partial run (-k, or one xdist worker)
        # updates only its own rows
        path = RESULTS_DIR / "optim.json"
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        key = lambda r: (r["optimizer"], json.dumps(r["hyperparameters"]), r["dtype"])  # noqa: E731
        rows = {key(r): r for r in (json.loads(path.read_text())["rows"] if path.exists() else [])}
        rows |= {key(r): json.loads(json.dumps(r)) for r in _ROWS}
        path.write_text(json.dumps({"steps": STEPS, "torch": torch.__version__, "rows": list(rows.values())},
                                   indent=1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,hp", TABLE, ids=[f"{n}-{h}" for n, h in TABLE])
def test_table_of_agreement(name: str, hp: dict[str, Any], dtype: str) -> None:
    worst = run(name, hp, dtype, seed=7)
    _ROWS.append({"optimizer": name, "hyperparameters": hp, "dtype": dtype, "rtol": TOL[name][dtype]["rtol"],
                  **worst})


def test_never_mutates_and_state_round_trips() -> None:
    p, g = np.ones((2, 2)), np.full((2, 2), 0.5)
    p_copy, g_copy = p.copy(), g.copy()
    p1, s1 = nnref.optim.adam(p, g, amsgrad=True)
    s1_copy = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s1.items()}
    nnref.optim.adam(p1, g, s1, amsgrad=True)
    assert np.array_equal(p, p_copy) and np.array_equal(g, g_copy)
    assert all(np.array_equal(s1[k], s1_copy[k]) for k in s1)
    assert set(s1) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


@pytest.mark.parametrize("call,words", [
    (lambda: nnref.optim.sgd(np.ones(2), np.ones(2), lr=-1.0), ["sgd", "lr", "-1.0"]),
    (lambda: nnref.optim.sgd(np.ones(2), np.ones(2), nesterov=True), ["sgd", "nesterov", "momentum > 0"]),
    (lambda: nnref.optim.adam(np.ones(2), np.ones(2), betas=(0.9, 1.0)), ["adam", "betas[1]", "1.0"]),
    (lambda: nnref.optim.adam(np.ones(2), np.ones(3)), ["adam", "grad", "(2,)", "(3,)"]),
    (lambda: nnref.optim.adam(np.ones(2), np.ones(2), {"step": 1}), ["adam", "exp_avg", "(2,)", "None"]),
    (lambda: nnref.optim.rmsprop(np.ones(2), np.ones(2), centered="yes"), ["rmsprop", "centered", "str"]),
])
def test_errors_name_the_argument(call: Any, words: list[str]) -> None:
    with pytest.raises(nnref.NNRefError) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def test_identities_are_proved() -> None:
    from derivations.proofs.optim import prove_optim

    proofs = prove_optim()
    assert len(proofs) == 7
    assert all(p.holds for p in proofs), [p for p in proofs if not p.holds]
