"""The floor: a fresh Python process that only reads the command's input files and decodes their nodes.

A meshkit command that reads those files can hardly beat this, so each command's time is
reported as a ratio to it, measured in the same run on the same files. A command that reads
several files (validate: the downstream's manifest and the contract; the catalog: every
project and env's latest contract) is paired with a floor that decodes all of them.
"""

from __future__ import annotations

import sys

import msgspec


class Node(msgspec.Struct):
    unique_id: str
    resource_type: str


class Manifest(msgspec.Struct):
    nodes: dict[str, Node]


def main(paths: list[str]) -> int:
    decoder = msgspec.json.Decoder(Manifest)
    for path in paths:
        with open(path, "rb") as handle:
            decoder.decode(handle.read())
    return 0 if paths else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
