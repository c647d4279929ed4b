"""Losses (filled in below)."""
from .spec import PointwiseOp

POINTWISE: list[PointwiseOp] = []
