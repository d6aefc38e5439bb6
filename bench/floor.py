"""The floor: a fresh Python process that only reads one JSON file and decodes its nodes.

A meshkit command that reads a manifest can hardly beat this, so each command's time is
reported as a ratio to it, measured in the same run on the same file.
"""

from __future__ import annotations

import sys

import msgspec


class Node(msgspec.Struct):
    unique_id: str
    resource_type: str


class Manifest(msgspec.Struct):
    nodes: dict[str, Node]


def main(path: str) -> int:
    with open(path, "rb") as handle:
        manifest: Manifest = msgspec.json.decode(handle.read(), type=Manifest)
    return 0 if manifest.nodes is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
