"""Structured ops (filled in below)."""
from typing import Any

OPS: list[Any] = []
