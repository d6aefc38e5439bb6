"""Budgets on JSON that other teams wrote: how deep it may nest, and how large each kind of file may be.

A manifest, contract, pointer, metadata file or consumer record can come from anyone with write access
to the registry. JSON nested a thousand levels deep exhausts the decoder's recursion (and Python's, in
whatever walks it later), so every decode goes through `decode`, which turns that into one line, and the
free-form values meshkit keeps (`meta`, a group's `owner`) may nest at most MAX_NESTING levels: dbt writes
a few. Sizes are bounded where the bytes are read (files.read_regular, the registry backends).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

MAX_NESTING = 64
T = TypeVar("T")


class OverBudget(ValueError):
    """The document is nested deeper than meshkit reads; the message completes "{file} ..."."""


def decode(decoder: msgspec.json.Decoder[T], data: bytes | msgspec.Raw) -> T:
    """decoder.decode(data), with the decoder's recursion limit reported as OverBudget, never a RecursionError."""
    try:
        return decoder.decode(data)
    except RecursionError:
        raise OverBudget("nests JSON deeper than meshkit reads (about 1,000 levels)") from None


def check_nesting(value: Any, field: str, limit: int = MAX_NESTING) -> None:
    """Raise ValueError (msgspec reports it with the struct's JSON path) when value nests deeper than limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"{field} is nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, (dict, list)))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
