#!/usr/bin/env sh
# The special-values, convention, golden-vector and deviation tests on every torch CPU kernel path this
# machine has: each ATen CPU capability up to the CPU's own (default, avx2, avx512), each
# with oneDNN on and off.  torch picks its kernels by CPU, so a test that passes on one
# path can fail on another; this runs them all on one machine (make test calls it).
set -eu
PY=${PY:-.venv/bin/python}
top=$($PY -c "import torch; print(torch.backends.cpu.get_cpu_capability().lower())")
caps="default"
case "$top" in
  avx2) caps="default avx2" ;;
  avx512*) caps="default avx2 avx512" ;;
esac
for cap in $caps; do
  for onednn in on off; do
    echo "==> [kernels] ATEN_CPU_CAPABILITY=$cap, oneDNN $onednn"
    ATEN_CPU_CAPABILITY=$cap NNREF_TORCH_ONEDNN=$onednn $PY -m pytest -q -p no:cacheprovider \
      tests/test_special_values.py tests/test_conventions.py tests/test_pool_conventions.py \
      tests/test_vectors.py::test_torch_meets_every_vector_or_a_listed_deviation
  done
done
