"""The conformance suite, installable: any implementation checked against nnref, op by op.

``python -m nnref conform --impl pkg.module:Adapter`` (``pip install "nnref[conformance]"``)
draws inputs for every op in the catalog with hypothesis, runs them through the
implementation's adapter and through nnref, and writes a report per op × dtype × device.
``tests/test_crosscheck.py`` runs the same checks (``check.check_case``) under pytest.

Nothing here is imported by ``import nnref``: only ``python -m nnref conform`` enters this
package, and only its ``strategies`` and ``runner`` modules import hypothesis.

Owns: the package of the conformance suite.  Imports: nothing.
"""
