"""The conformance page: how to run nnref's suite against another implementation.

Owns: ``render_conformance`` and its three tables (template ``conformance.md.j2``, the adapter
example in ``conformance_example.py.j2``).  Imports: ``.markup``, ``.templating``; no other
page module.
"""

from __future__ import annotations

from .markup import table
from .templating import render

PROTOCOL_TABLE = table(["member", "meaning"], [
    ["`name: str`", "shown in messages"],
    ["`devices: tuple[str, ...]`", 'devices to test, e.g. `("cpu", "cuda")`; each becomes a test parameter'],
    ["`available(device) -> Optional[str]`",
     "`None` when the device can be used here, otherwise the reason (the tests skip)"],
    ["`forward(op, inputs, params, device) -> ndarray`",
     "run op `op` (torch.nn.functional's name); `inputs` maps input names to NumPy arrays,"
     " `params` holds keyword parameters"],
    ["`vjp(op, inputs, params, grad_output, wrt, device) -> dict`",
     r"the gradient of $\langle g, \operatorname{op}(\ldots)\rangle$ for each input named in `wrt`,"
     " as NumPy arrays"],
])

OPTIONS_TABLE = table(["option", "meaning"], [
    ["`--impl package.module:object`", "the implementation under test (default `torch`; also `$NNREF_IMPL`)"],
    ["`--skip-ops FILE`", "op names, one per line (`#` starts a comment), whose tests are skipped"],
    ["`--nnref-profile {ci,thorough}`", "`ci` (default): 30 derandomised examples per test; `thorough`: 600"
     " random ones (also `$NNREF_PROFILE`)"],
])

RUNNER_TABLE = table(["`python -m nnref conform` option", "meaning"], [
    ["`--impl package.module:object`", "the adapter (required); the module is imported from the current directory"
     " or `PYTHONPATH`"],
    ["`--ops a,b` / `--family f`", "only these ops, or this family (default: every op checked by forward and VJP)"],
    ["`--deviations FILE`", "known deviations (as `tests/deviations/torch.json`): exactly matching entries are"
     " reported, not failed"],
    ["`--report FILE`", "the JSON report (default `nnref-conformance.json`)"],
    ["`--profile {ci,thorough}`", "`ci` (default): 30 reproducible examples per op, dtype and device;"
     " `thorough`: 600 random ones"],
    ["`--replay FILE.npz`", "rerun one saved failing case; exit 1 while it still fails"],
])


def render_conformance() -> str:
    return render("conformance.md.j2", protocol_table=PROTOCOL_TABLE, options_table=OPTIONS_TABLE,
                  runner_table=RUNNER_TABLE)
