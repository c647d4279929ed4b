"""The worked-examples page: the source articles' hand-computed numbers, recomputed with nnref.

Owns: the examples E1, E2, E3 and E6 (``compute_e*``, ``sample_e2``, ``train_e3`` and its
plot, ``DRAWN``), ``worked_example_claims`` (with E4 and E5 from ``.conv``) and
``render_worked_examples`` (templates ``worked-examples.md.j2`` and ``e3_step.md.j2``).
Imports: NumPy, ``nnref`` and matplotlib (inside functions), ``.claims``, ``.conv``,
``.markup``, ``.paths``, ``.templating``; no other page module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import conv, figure
from .claims import Claim, check_claim, claims_table, numeric_claim
from .markup import fmt, fmt_vec, table
from .paths import PLOTS
from .templating import render, render_part


def compute_e1() -> dict[str, Any]:
    import nnref

    x, w, b = np.array([2.0, 3.0]), np.array([[0.5, -0.2]]), np.array([0.1])
    z = nnref.linear(x, w, b)
    return {"x": x, "w": w, "b": b, "products": x * w[0], "z": float(z[0]), "a": float(nnref.sigmoid(z)[0])}


def compute_e2(n_in: int = 3, n_out: int = 2) -> dict[str, Any]:
    var = 2 / (n_in + n_out)
    std = math.sqrt(var)
    # P(|W| < k) for W ~ Normal(0, std²) is erf(k / (std·√2)).
    within = {k: math.erf(k / (std * math.sqrt(2))) for k in (0.632, 1.26, 1.90)}
    he_var = 2 / n_in
    return {"var": var, "std": std, "within": within, "he_var": he_var, "he_std": math.sqrt(he_var)}


E2_DRAWS = 20000


def sample_e2(n_in: int = 3, n_out: int = 2) -> dict[str, Any]:
    """E2_DRAWS independent 2×3 weight matrices from nnref.init.xavier_normal (seed 0): their
    variance and the fractions within the quoted bounds, measured."""
    import nnref

    rng = np.random.default_rng(0)
    w = np.stack([nnref.init.xavier_normal((n_out, n_in), rng=rng) for _ in range(E2_DRAWS)]).ravel()
    within = {k: float(np.mean(np.abs(w) < k)) for k in (0.632, 1.26, 1.90)}
    return {"n": w.size, "var": float(np.var(w)), "within": within}




E3 = {"x": [1.0, 1.0], "W1": [[0.5, 0.2], [0.3, 0.8]], "b1": [0.1, 0.1], "W2": [[0.4, 0.7]], "b2": [0.2], "y": [1.0]}
E3_ETA = 0.5


E3_TRAIN_STEPS = 30


def train_e3(loss: str, eta: float = E3_ETA, steps: int = E3_TRAIN_STEPS) -> list[float]:
    """E3's network trained on its one example with plain SGD (nnref.nn.fit): the loss before each step."""
    import nnref

    net = nnref.nn.Sequential(nnref.nn.Linear(2, 2), nnref.nn.ReLU(), nnref.nn.Linear(2, 1), nnref.nn.Sigmoid())
    params = {"0.weight": np.array(E3["W1"]), "0.bias": np.array(E3["b1"]), "2.weight": np.array(E3["W2"]),
              "2.bias": np.array(E3["b2"])}
    name = {"mse": "mse_loss", "bce": "binary_cross_entropy"}[loss]
    _, losses = nnref.nn.fit(net, params, np.array([E3["x"]]), np.array([E3["y"]]), name, "sgd", steps, lr=eta)
    return losses


def draw_e3_training(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 2.8), dpi=100)
    for loss, label in (("mse", "squared error"), ("bce", "binary cross-entropy")):
        ax.plot(range(1, E3_TRAIN_STEPS + 1), train_e3(loss), marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel(f"step (SGD, η = {E3_ETA})", fontsize=8)
    ax.set_ylabel("loss on E3's example", fontsize=8)
    ax.tick_params(which="both", labelsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    figure.save(fig, path)
    DRAWN.add(path)


E3_FIGURE = "e3_training.svg"
DRAWN: set[Path] = set()


def e3_forward(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> dict[str, np.ndarray]:
    import nnref

    x = np.array(E3["x"])
    z1 = nnref.linear(x, W1, b1)
    h1 = nnref.relu(z1)
    z2 = nnref.linear(h1, W2, b2)
    return {"W1x": nnref.linear(x, W1), "z1": z1, "h1": h1, "z2": z2, "yhat": nnref.sigmoid(z2)}


def compute_e3(loss: str, eta: float = E3_ETA) -> dict[str, Any]:
    """Forward pass, full backward pass with nnref's *_backward functions, one gradient step."""
    import nnref

    x, y = np.array(E3["x"]), np.array(E3["y"])
    W1, b1, W2, b2 = (np.array(E3[k]) for k in ("W1", "b1", "W2", "b2"))
    f = e3_forward(W1, b1, W2, b2)
    loss_fn = {"mse": nnref.mse_loss, "bce": nnref.binary_cross_entropy}[loss]
    loss_bwd = {"mse": nnref.mse_loss_backward, "bce": nnref.binary_cross_entropy_backward}[loss]
    L = float(loss_fn(f["yhat"], y))
    one = np.array(1.0)
    d_yhat = loss_bwd(one, f["yhat"], y)["input"]
    d_z2 = nnref.sigmoid_backward(d_yhat, f["z2"])["input"]
    g2 = nnref.linear_backward(d_z2, f["h1"], W2, b2)
    d_z1 = nnref.relu_backward(g2["input"], f["z1"])["input"]
    g1 = nnref.linear_backward(d_z1, x, W1, b1)
    grads = {"d_yhat": d_yhat, "d_z2": d_z2, "W2": g2["weight"], "b2": g2["bias"], "d_h1": g2["input"],
             "d_z1": d_z1, "W1": g1["weight"], "b1": g1["bias"]}
    new = {"W1": W1 - eta * g1["weight"], "b1": b1 - eta * g1["bias"],
           "W2": W2 - eta * g2["weight"], "b2": b2 - eta * g2["bias"]}
    f_new = e3_forward(new["W1"], new["b1"], new["W2"], new["b2"])
    return {"forward": f, "loss": L, "grads": grads, "new": new, "old": {"W1": W1, "b1": b1, "W2": W2, "b2": b2},
            "yhat_new": float(f_new["yhat"][0]), "loss_new": float(loss_fn(f_new["yhat"], y)), "eta": eta}


E6_GRID = np.array([-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])
E6_SHAPES: dict[str, Callable[[Callable[[np.ndarray], np.ndarray], np.ndarray], np.ndarray]] = {
    "peak: relu(z+1) − 2·relu(z) + relu(z−1)": lambda r, z: r(z + 1) - 2 * r(z) + r(z - 1),
    "valley: relu(−z−1) + relu(z−1)": lambda r, z: r(-z - 1) + r(z - 1),
    "plateau: relu(z+1) − relu(z−1)": lambda r, z: r(z + 1) - r(z - 1),
}
E6_KINKS = (-1.0, 0.0, 1.0)


def compute_e6() -> dict[str, Any]:
    import nnref

    fine = np.linspace(-3.0, 3.0, 601)
    segments = [(-3.0, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, 3.0)]
    shapes = {}
    worst = 0.0
    for name, f in E6_SHAPES.items():
        vals = f(nnref.relu, fine)
        slopes = []
        for lo, hi in segments:
            m = (fine >= lo - 1e-12) & (fine <= hi + 1e-12)
            s = np.diff(vals[m]) / np.diff(fine[m])
            worst = max(worst, float(np.ptp(s)))
            slopes.append(float(np.mean(s)))
        shapes[name] = {"grid": f(nnref.relu, E6_GRID), "slopes": slopes}
    grid = np.linspace(-10.0, 10.0, 2001)
    sig, th, rl = nnref.sigmoid(grid), nnref.tanh(grid), nnref.relu(grid)
    big = np.array([1e3, 1e100, 1e300])
    return {"shapes": shapes, "segments": segments, "worst_slope_spread": worst,
            "sigmoid": (float(sig.min()), float(sig.max())), "tanh": (float(th.min()), float(th.max())),
            "relu_big": nnref.relu(big), "big": big, "relu_min": float(rl.min()),
            "sigmoid_one": _first_at_one(nnref.sigmoid), "tanh_one": _first_at_one(nnref.tanh)}


def _first_at_one(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """The smallest x on a 0.01 grid in [0, 60] where f(x) rounds to exactly 1.0 in float64."""
    xs = np.round(np.arange(0.0, 60.0, 0.01), 2)
    return float(xs[np.argmax(f(xs) == 1.0)])


def worked_example_claims() -> list[Claim]:
    """Every checkable claim of the source articles' worked examples, with nnref's value."""
    claims = []
    e1 = compute_e1()
    inp = "$x = [2, 3]$, $w = [0.5, -0.2]$, $b = 0.1$"
    claims.append(numeric_claim("E1.z", "pre-activation $z = w \\cdot x + b$ (`nnref.linear`)", inp, 0.5,
                                e1["z"], 1, claimed_text="1.0 − 0.6 + 0.1 = 0.5"))
    claims.append(numeric_claim("E1.a", "activation $a = \\sigma(z)$ (`nnref.sigmoid`)", "$z = 0.5$", 0.622,
                                e1["a"], 3, claimed_text="≈ 0.622"))

    e2 = compute_e2()
    inp = "$n_{in} = 3$, $n_{out} = 2$"
    claims.append(numeric_claim("E2.var", "Xavier/Glorot variance $2/(n_{in}+n_{out})$", inp, 0.4, e2["var"], 1))
    claims.append(numeric_claim("E2.std", "standard deviation $\\sqrt{0.4}$", inp, 0.632, e2["std"], 3,
                                claimed_text="≈ 0.632"))
    for key, k, claimed, dec, txt in (("E2.p68", 0.632, 68, 0, "about 68%"), ("E2.p95", 1.26, 95, 0, "about 95%"),
                                      ("E2.p997", 1.90, 99.7, 1, "about 99.7%")):
        claims.append(numeric_claim(key, f"fraction of draws within ±{k} (normal CDF via `math.erf`), in %",
                                    f"Normal(0, {fmt(e2['std'], 4)}²)", claimed, 100 * e2["within"][k], dec,
                                    claimed_text=txt))
    drawn = sample_e2()
    for k, claimed in ((0.632, 68), (1.26, 95), (1.90, 99.7)):
        claims.append(check_claim(
            f"E2.draw{k}", f"fraction of `nnref.init.xavier_normal` draws within ±{k}, in %",
            f"{drawn['n']:,} weights from 2×3 matrices, seed 0", f"about {claimed}%",
            f"{100 * drawn['within'][k]:.2f}%", abs(100 * drawn["within"][k] - claimed) < 1.0,
            drawn["within"][k]))
    claims.append(check_claim("E2.drawvar", "variance of the drawn weights", f"{drawn['n']:,} weights", "0.4",
                              fmt(drawn["var"], 4), abs(drawn["var"] - 0.4) < 0.01, drawn["var"],
                              "The sample variance of 120,000 draws has a standard error of about 0.0016."))
    claims.append(check_claim("E2.he", "He/Kaiming variance $2/n_{in}$", "$n_{in} = 3$", "formula only",
                              f"{fmt(e2['he_var'], 4)} (std {fmt(e2['he_std'], 4)})", None, e2["he_var"],
                              "The source gives the formula, no number; shown for the same layer."))

    mse = compute_e3("mse")
    bce = compute_e3("bce")
    f = mse["forward"]
    inp = "$W_1 = [[0.5, 0.2], [0.3, 0.8]]$, $b_1 = [0.1, 0.1]$, $x = [1, 1]$"
    claims.append(numeric_claim("E3.W1x", "$W_1 x$ (`nnref.linear` without bias)", inp, [0.7, 1.1], f["W1x"], 1))
    claims.append(numeric_claim("E3.z1", "$z_1 = W_1 x + b_1$", inp, [0.8, 1.2], f["z1"], 1))
    claims.append(numeric_claim("E3.h1", "$h_1 = \\operatorname{relu}(z_1)$", "$z_1$ above", [0.8, 1.2], f["h1"], 1))
    claims.append(numeric_claim("E3.z2", "$z_2 = W_2 h_1 + b_2$", "$W_2 = [0.4, 0.7]$, $b_2 = 0.2$", 1.36,
                                f["z2"], 2, claimed_text="0.32 + 0.84 + 0.2 = 1.36"))
    e_val = float(np.exp(-f["z2"][0]))
    claims.append(numeric_claim(
        "E3.exp", "$e^{-z_2}$ (NumPy's `exp`: a step of the sigmoid, not an nnref op)", "$z_2 = 1.36$", 0.256,
        e_val, 3, claimed_text="≈ 0.256",
        note=f"$e^{{-1.36}} = {e_val:.5f}$, which rounds to 0.257: the source truncated instead of rounding."
             " Its next step, 0.796, is right."))
    claims.append(numeric_claim("E3.yhat", "$\\hat y = \\sigma(z_2)$", "$z_2 = 1.36$", 0.796, f["yhat"], 3,
                                claimed_text="≈ 0.796"))
    for key, res, name in (("E3.learn_mse", mse, "MSE"), ("E3.learn_bce", bce, "binary cross-entropy")):
        y0 = float(res["forward"]["yhat"][0])
        claims.append(check_claim(
            key, f"one gradient step ({name}, η = {res['eta']}) moves the prediction closer to 1",
            "$y = 1$, same input", "slightly closer to 1",
            f"{fmt(y0, 6)} → {fmt(res['yhat_new'], 6)}", res["yhat_new"] > y0 and res["yhat_new"] < 1,
            res["yhat_new"]))

    e6 = compute_e6()
    claims.append(check_claim(
        "E6.hinges", "a sum of ReLU hinges is piecewise linear", "the three sums above, on 601 points in [−3, 3]",
        "piecewise linear", f"slope constant on every segment (spread {fmt(e6['worst_slope_spread'], 2)})",
        e6["worst_slope_spread"] < 1e-9, e6["worst_slope_spread"]))
    lo, hi = e6["sigmoid"]
    claims.append(check_claim("E6.sigmoid", "sigmoid's outputs lie in (0, 1)", "2001 points in [−10, 10]", "(0, 1)",
                              f"[{fmt(lo, 4)}, {fmt(hi, 6)}]", 0 < lo and hi < 1, (lo, hi)))
    lo, hi = e6["tanh"]
    claims.append(check_claim("E6.tanh", "tanh's outputs lie in (−1, 1)", "2001 points in [−10, 10]", "(−1, 1)",
                              f"[{fmt(lo, 10)}, {fmt(hi, 10)}]", -1 < lo and hi < 1, (lo, hi)))
    big = e6["relu_big"]
    claims.append(check_claim("E6.relu", "ReLU is unbounded above (and never negative)",
                              "$z = 10^{3}, 10^{100}, 10^{300}$", "unbounded above",
                              "relu(z) = z: " + ", ".join(f"{v:.0e}" for v in big)
                              + f"; min on the grid {fmt(e6['relu_min'])}",
                              bool(np.all(big == e6["big"])) and e6["relu_min"] >= 0, big))
    return claims + conv.e4_e5_claims()


def _e3_tables(res: dict[str, Any]) -> str:
    g, old, new = res["grads"], res["old"], res["new"]
    rows = [
        [r"$\partial L/\partial \hat y$", "loss backward", fmt_vec(g["d_yhat"])],
        [r"$\delta_2 = \partial L/\partial z_2$", "`sigmoid_backward`", fmt_vec(g["d_z2"])],
        [r"$\partial L/\partial W_2$", "`linear_backward` (weight)", fmt_vec(g["W2"])],
        [r"$\partial L/\partial b_2$", "`linear_backward` (bias)", fmt_vec(g["b2"])],
        [r"$\partial L/\partial h_1$", "`linear_backward` (input)", fmt_vec(g["d_h1"])],
        [r"$\delta_1 = \partial L/\partial z_1$", "`relu_backward`", fmt_vec(g["d_z1"])],
        [r"$\partial L/\partial W_1$", "`linear_backward` (weight)", fmt_vec(g["W1"])],
        [r"$\partial L/\partial b_1$", "`linear_backward` (bias)", fmt_vec(g["b1"])],
    ]
    prow = [[f"${k[0]}_{k[1]}$", fmt_vec(old[k]), fmt_vec(g[k]), fmt_vec(new[k])] for k in ("W2", "b2", "W1", "b1")]
    return render_part(
        "e3_step.md.j2", loss=fmt(res["loss"], 6), gradients=table(["gradient", "nnref call", "value"], rows),
        parameters=table(["parameter", "old", "gradient", f"new = old − {res['eta']} × gradient"], prow),
        yhat_new=fmt(res["yhat_new"], 6), yhat=fmt(float(res["forward"]["yhat"][0]), 6),
        loss_new=fmt(res["loss_new"], 6))


def render_worked_examples() -> str:
    claims = worked_example_claims()

    def by(prefix: str) -> list[Claim]:
        return [c for c in claims if c.key.startswith(prefix)]

    PLOTS.mkdir(parents=True, exist_ok=True)
    draw_e3_training(PLOTS / E3_FIGURE)
    curve = {k: train_e3(k) for k in ("mse", "bce")}
    e6 = compute_e6()
    hinge_rows = [[fmt(z)] + [fmt(s["grid"][i], 4) for s in e6["shapes"].values()] for i, z in enumerate(E6_GRID)]
    slope_rows = [[name.split(":")[0]] + [fmt(s, 4) for s in d["slopes"]] for name, d in e6["shapes"].items()]
    tables = {"E1": by("E1"), "E2": by("E2"), "E3_forward": [c for c in by("E3") if not c.key.startswith("E3.learn")],
              "E3_learn": by("E3.learn"), "E6": by("E6")}
    return render(
        "worked-examples.md.j2",
        n_ok=sum(1 for c in claims if c.ok), n_bad=sum(1 for c in claims if c.ok is False),
        e1_products=[fmt(p) for p in compute_e1()["products"][:2]],
        claims={k: claims_table(v) for k, v in tables.items()}, eta=E3_ETA,
        e3_mse=_e3_tables(compute_e3("mse")), e3_bce=_e3_tables(compute_e3("bce")),
        e3_figure=E3_FIGURE, e3_steps=E3_TRAIN_STEPS,
        e3_curve={k: (fmt(v[0], 6), fmt(v[1], 6), fmt(v[-1], 6)) for k, v in curve.items()},
        e4_e5=conv.render_e4_e5(claims),
        e6_sums=[(n.split(":")[0], n.split(": ")[1]) for n in e6["shapes"]],
        hinge_table=table(["z"] + [n.split(":")[0] for n in e6["shapes"]], hinge_rows),
        slope_table=table(["sum"] + [f"({fmt(a)}, {fmt(b)})" for a, b in e6["segments"]], slope_rows),
        sigmoid_one=fmt(e6["sigmoid_one"]), tanh_one=fmt(e6["tanh_one"]))
