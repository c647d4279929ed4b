"""Whole networks (nnref.nn) against torch autograd, and a training run against torch.optim.

Each network is built twice, in nnref.nn and in torch.nn, with the same parameters (the names
agree, so torch's load_state_dict takes nnref's dict as it is); the loss and the gradient of
every parameter must agree in float64.  Tolerance: rtol 1e-10 of each parameter's largest
gradient entry.  Each op in the chain agrees with torch to ~1e-15 relative (its own tests), and a
network of a few layers multiplies that by at most its depth times the conditioning of the
intermediate sums; 1e-10 leaves five orders of headroom while still catching any wrong rule,
which is off by O(1).

The training run: the same initial weights and the same synthetic data set (two interleaved
half-moons, generated here from a seeded NumPy generator), 200 full-batch steps of SGD with
momentum and 200 of Adam; the float64 losses must agree to 1e-10 relative at every step.  The
differences measured are written to build/verification/nn.json for the Networks page.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RESULTS_DIR

import nnref
from nnref import nn

RTOL = 1e-10
_RESULTS: dict[str, Any] = {"gradients": {}, "training": {}}


@pytest.fixture(scope="module", autouse=True)
def _write_results() -> Any:
    yield
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "nn.json"
    old = json.loads(path.read_text()) if path.exists() else {"gradients": {}, "training": {}}
    for key in ("gradients", "training"):
        old[key] = old.get(key, {}) | _RESULTS[key]
    old["torch"] = torch.__version__
    path.write_text(json.dumps(old, indent=1))


class TorchResidual(torch.nn.Module):
    def __init__(self, *layers: torch.nn.Module) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def to_torch(layer: Any) -> torch.nn.Module:
    """The torch.nn module with the same structure (parameters overwritten afterwards)."""
    if isinstance(layer, nn.Sequential):
        return torch.nn.Sequential(*(to_torch(sub) for sub in layer.layers))
    if isinstance(layer, nn.Residual):
        return TorchResidual(*(to_torch(sub) for sub in layer.body.layers))
    if isinstance(layer, nn.Linear):
        return torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, dtype=torch.float64)
    if isinstance(layer, nn.Conv1d):
        return torch.nn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                               layer.padding, layer.dilation, bias=layer.bias, dtype=torch.float64)
    if isinstance(layer, nn.MaxPool1d):
        return torch.nn.MaxPool1d(layer.kernel_size, layer.stride)
    if isinstance(layer, nn.AvgPool1d):
        return torch.nn.AvgPool1d(layer.kernel_size, layer.stride)
    if isinstance(layer, nn.Flatten):
        return torch.nn.Flatten()
    fn = getattr(layer, "fn", None)
    return {nnref.relu: torch.nn.ReLU, nnref.sigmoid: torch.nn.Sigmoid, nnref.tanh: torch.nn.Tanh}[fn]()


TORCH_LOSS = {"mse_loss": torch.nn.functional.mse_loss, "binary_cross_entropy": torch.nn.functional.binary_cross_entropy,
              "cross_entropy": torch.nn.functional.cross_entropy}


def torch_model(net: nn.Sequential, params: dict[str, np.ndarray]) -> torch.nn.Module:
    model = to_torch(net)
    model.load_state_dict({k: torch.tensor(v) for k, v in params.items()}, strict=True)
    return model


def compare_gradients(name: str, net: nn.Sequential, params: dict[str, np.ndarray], x: np.ndarray,
                      target: np.ndarray, loss: str) -> float:
    value, grads = nn.loss_and_grad(net, params, x, target, loss)
    model = torch_model(net, params)
    tt = torch.tensor(target)
    tl = TORCH_LOSS[loss](model(torch.tensor(x)), tt)
    tl.backward()
    want = {k: p.grad.numpy() for k, p in model.named_parameters()}
    assert set(grads) == set(want), (set(grads) ^ set(want))
    assert abs(float(value) - tl.item()) <= RTOL * abs(tl.item())
    worst = 0.0
    for k, w in want.items():
        scale = float(np.max(np.abs(w)))
        err = float(np.max(np.abs(grads[k] - w)))
        assert err <= RTOL * scale + 1e-300, f"{name}: {k}: nnref {grads[k].ravel()[:4]} torch {w.ravel()[:4]}"
        worst = max(worst, err / scale if scale else err)
    _RESULTS["gradients"][name] = max(worst, _RESULTS["gradients"].get(name, 0.0))
    return worst


def fruit() -> tuple[nn.Sequential, dict[str, np.ndarray]]:
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid())
    # E3's weights (worked example, seed 002), typed in from the article's statement
    params = {"0.weight": np.array([[0.5, 0.2], [0.3, 0.8]]), "0.bias": np.array([0.1, 0.1]),
              "2.weight": np.array([[0.4, 0.7]]), "2.bias": np.array([0.2])}
    return net, params


@pytest.mark.parametrize("loss", ["mse_loss", "binary_cross_entropy"])
def test_fruit_network_matches_torch(loss: str) -> None:
    net, params = fruit()
    compare_gradients("fruit (E3)", net, params, np.array([[1.0, 1.0]]), np.array([[1.0]]), loss)
    # and on a batch where some hidden units are off, so relu's zero branch is exercised
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2)) * 2
    compare_gradients("fruit (E3)", net, params, x, (rng.random((16, 1)) < 0.5).astype(float), loss)


def mlp(widths: list[int], act: Any, out: Any | None = None) -> nn.Sequential:
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(act())
    if out is not None:
        layers.append(out())
    return nn.Sequential(*layers)


@pytest.mark.parametrize("seed", range(6))
def test_random_mlps_match_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    widths = [int(w) for w in rng.integers(1, 9, size=depth + 1)]
    act = [nn.ReLU, nn.Tanh, nn.Sigmoid][seed % 3]
    batch = int(rng.integers(1, 12))
    x = rng.normal(size=(batch, widths[0]))
    if seed % 2:
        widths[-1] = max(widths[-1], 2)
        net = mlp(widths, act)
        target = rng.integers(0, widths[-1], size=batch)
        loss = "cross_entropy"
    else:
        net = mlp(widths, act)
        target = rng.normal(size=(batch, widths[-1]))
        loss = "mse_loss"
    params = net.init(rng)
    compare_gradients("random MLPs", net, params, x, target, loss)


def residual_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(),
                         nn.Residual(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6)), nn.ReLU(),
                         nn.Residual(nn.Linear(6, 6), nn.Tanh()),
                         nn.Linear(6, 2))


@pytest.mark.parametrize("seed", range(3))
def test_residual_mlp_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    net = residual_mlp()
    params = net.init(rng)
    assert "2.body.0.weight" in params and "4.body.0.bias" in params
    x = rng.normal(size=(8, 3))
    compare_gradients("residual MLP", net, params, x, rng.normal(size=(8, 2)), "mse_loss")


def test_residual_backward_is_identity_plus_body() -> None:
    # ∂L/∂x = g + J_Fᵀ g: the block's input gradient minus the body's alone is g itself
    rng = np.random.default_rng(4)
    block = nn.Sequential(nn.Residual(nn.Linear(4, 4), nn.Tanh()))
    body = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    params = block.init(rng)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    _, tape = block.forward(params, x)
    gx, _ = block.backward(params, tape, g)
    body_params = {k.removeprefix("0.body."): v for k, v in params.items()}
    _, btape = body.forward(body_params, x)
    gb, _ = body.backward(body_params, btape, g)
    np.testing.assert_allclose(gx - gb, g, rtol=0, atol=1e-15)


def mnist1d_cnn(length: int = 40, classes: int = 10) -> nn.Sequential:
    """Shaped like the MNIST-1D network of seed 000 (Prince, Understanding Deep Learning):
    two strided 1-D convolutions with ReLU, a pooling step, a dense layer to the class scores."""
    c = 15
    n1 = (length - 3) // 2 + 1
    n2 = (n1 - 3) // 2 + 1
    n3 = n2 // 2
    return nn.Sequential(nn.Conv1d(1, c, 3, stride=2), nn.ReLU(), nn.Conv1d(c, c, 3, stride=2, padding=0),
                         nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(c * n3, classes))


@pytest.mark.parametrize("seed", range(2))
def test_mnist1d_shaped_cnn_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(20 + seed)
    net = mnist1d_cnn()
    params = net.init(rng)
    x = rng.normal(size=(6, 1, 40))
    compare_gradients("1-D CNN (MNIST-1D shape)", net, params, x, rng.integers(0, 10, size=6), "cross_entropy")


def moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with Gaussian noise, labels 0 and 1 (generated, no download)."""
    t = rng.uniform(0, np.pi, size=n)
    label = rng.integers(0, 2, size=n)
    x = np.where(label[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return x + rng.normal(scale=0.1, size=x.shape), label.astype(float)[:, None]


TRAINING = {"sgd_momentum": ("sgd", {"lr": 0.1, "momentum": 0.9}), "adam": ("adam", {"lr": 0.01})}


@pytest.mark.parametrize("run", list(TRAINING))
def test_training_matches_torch_at_every_step(run: str) -> None:
    name, hyper = TRAINING[run]
    rng = np.random.default_rng(2024)
    x, y = moons(64, rng)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    params0 = net.init(rng)
    _, ours = nn.fit(net, params0, x, y, "binary_cross_entropy", name, 200, **hyper)
    model = torch_model(net, params0)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name](model.parameters(), foreach=False, **hyper)
    theirs = []
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy(model(xt), yt)
        loss.backward()
        theirs.append(loss.item())
        opt.step()
    rel = np.abs(np.array(ours) - np.array(theirs)) / np.abs(np.array(theirs))
    assert rel.max() <= RTOL, f"{run}: step {int(rel.argmax())}: nnref {ours[rel.argmax()]} torch {theirs[rel.argmax()]}"
    assert ours[-1] < 0.5 * ours[0], "the run should learn something, or the comparison says little"
    _RESULTS["training"][run] = {"optimizer": name, "hyperparameters": hyper, "nnref": ours, "torch": theirs,
                                 "max_rel": float(rel.max())}


def test_parameter_count_matches_torch() -> None:
    for net in (fruit()[0], residual_mlp(), mnist1d_cnn()):
        params = net.init(np.random.default_rng(0))
        assert {k: v.shape for k, v in params.items()} == net.shapes()
        assert nn.parameter_count(params) == sum(p.numel() for p in torch_model(net, params).parameters())


def test_errors_name_the_argument() -> None:
    net = fruit()[0]
    with pytest.raises(nnref.NNRefError, match="loss: expected one of .* got 'hinge'"):
        nn.loss_and_grad(net, fruit()[1], np.ones((1, 2)), np.ones((1, 1)), "hinge")
    with pytest.raises(nnref.NNRefError, match=r"layers\[1\]: expected an nnref.nn layer, got int"):
        nn.Sequential(nn.ReLU(), 3)  # type: ignore[arg-type]
    with pytest.raises(nnref.NNRefError, match=r"params: expected a dict with the names .*got \['0.weight'\]"):
        nn.loss_and_grad(net, {"0.weight": np.ones((2, 2))}, np.ones((1, 2)), np.ones((1, 1)), "mse_loss")
    bad_shape = fruit()[1] | {"2.weight": np.ones((2, 1))}
    with pytest.raises(nnref.NNRefError, match=r"params\['2.weight'\]: expected .* shape \(1, 2\), got .*\(2, 1\)"):
        nn.loss_and_grad(net, bad_shape, np.ones((1, 2)), np.ones((1, 1)), "mse_loss")
    with pytest.raises(nnref.NNRefError, match="Residual: body: expected an output of the input's shape"):
        bad = nn.Sequential(nn.Residual(nn.Linear(2, 3)))
        bad.forward(bad.init(np.random.default_rng(0)), np.ones((1, 2)))


def test_fruit_gradient_is_proved() -> None:
    from derivations.proofs.nn import prove_nn

    proofs = prove_nn()
    assert len(proofs) == 5 and all(p.holds for p in proofs), [p for p in proofs if not p.holds]
