"""Unit tests for meshkit.contract.neutralise: Jinja from another team's manifest must come out inert."""

from __future__ import annotations

import re

import jinja2
import pytest

from meshkit.contract.neutralise import neutralise, neutralise_text

_OPENERS = re.compile(r"\{[{%#]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ env_var('X') }}", "{ { env_var('X') }}"),
        ("{% do run_query('drop') %}", "{ % do run_query('drop') %}"),
        ("{# comment #}", "{ # comment #}"),
        ("{{{ x }}}", "{ { { x }}}"),
        ("{{{{ x }}}}", "{ { { { x }}}}"),
        ("a{{b}}c{%d%}e{#f#}", "a{ {b}}c{ %d%}e{ #f#}"),
        ("{ {", "{ {"),
        ("{x} and {} and }} and %} and #}", "{x} and {} and }} and %} and #}"),
        ("plain text, no jinja: 100% {sure}", "plain text, no jinja: 100% {sure}"),
        ("", ""),
    ],
)
def test_neutralise_text_exact(text, expected):
    assert neutralise_text(text) == expected
    assert neutralise(text) == expected
    assert not _OPENERS.search(neutralise_text(text))


@pytest.mark.parametrize("text", ["{{ env_var('SECRET') }}", "{{{{ x }}}}", "{%- if x -%}y{%- endif -%}", "{#- c -#}"])
def test_neutralised_text_renders_as_itself_in_jinja(text):
    """The point of it: Jinja must see plain text, so rendering changes nothing and runs nothing."""
    safe = neutralise_text(text)
    assert jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(safe).render() == safe


def test_neutralise_nested_structures_keys_too():
    value = {
        "{{ k }}": ["{% x %}", {"inner": "{# c #}", "{{{key}}}": ("{{a}}", 1)}],
        "n": 3,
        "f": 1.5,
        "b": True,
        "z": None,
    }
    assert neutralise(value) == {
        "{ { k }}": ["{ % x %}", {"inner": "{ # c #}", "{ { {key}}}": ["{ {a}}", 1]}],
        "n": 3,
        "f": 1.5,
        "b": True,
        "z": None,
    }


def test_neutralise_leaves_text_without_jinja_unchanged():
    value = {"description": "Orders: one row each.", "meta": {"owner": "a@b.c", "tags": ["x", "y"]}, "v": 2}
    assert neutralise(value) == value


@pytest.mark.parametrize(
    "value",
    ["{{{{ x }}}}", "{%%}", "{#{{%", {"{{a}}": ["{%b%}", {"c": "{#d#}"}]}, "no jinja"],
)
def test_neutralise_is_idempotent(value):
    once = neutralise(value)
    assert neutralise(once) == once
