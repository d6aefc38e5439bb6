"""Unit tests for meshkit.contract.names: names that become paths, registry keys or quoted SQL identifiers."""

from __future__ import annotations

import pytest

from meshkit.contract.names import check_env, check_identifier, check_project, is_safe_identifier
from meshkit.errors import EXIT_INPUT, InputError, UnsafeNameError

HOSTILE = ["../x", "a/b", "..", "", "a b", 'x"y', "名前", "a\\b", "prod\n", "a.b", None, 7]


@pytest.mark.parametrize("name", ["dbt_up", "shop", "public_orders", "_private", "A1", "x" * 128])
def test_check_project_accepts_and_returns_name(name):
    assert check_project(name) == name


@pytest.mark.parametrize("name", [*HOSTILE, "1shop", "dev-eu", "x" * 129, "x" * 200])
def test_check_project_rejects(name):
    with pytest.raises(UnsafeNameError) as caught:
        check_project(name)
    assert caught.value.exit_code == EXIT_INPUT == 2
    assert isinstance(caught.value, InputError)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"project name {name!r} is not allowed")


def test_check_project_names_what_in_message():
    with pytest.raises(UnsafeNameError, match=r"^upstream name '\.\./x' is not allowed"):
        check_project("../x", what="upstream")


@pytest.mark.parametrize("name", ["prod", "staging", "dev", "dev-eu", "dev_eu", "2024", "p" * 64])
def test_check_env_accepts(name):
    assert check_env(name) == name


@pytest.mark.parametrize("name", [*HOSTILE, "-prod", "_prod", "p" * 65, "p" * 200])
def test_check_env_rejects(name):
    with pytest.raises(UnsafeNameError, match=r"^env name .* is not allowed") as caught:
        check_env(name)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("value", ["public_orders", "col$1", "_x", "Main", "dbt_up", "a" * 255])
def test_check_identifier_accepts(value):
    assert is_safe_identifier(value)
    assert check_identifier(value, what="alias") == value


@pytest.mark.parametrize("value", [*HOSTILE, "1col", "$x", 'main"; --', 'x"; drop table y; --', "a" * 256])
def test_check_identifier_rejects(value):
    assert not is_safe_identifier(value)
    with pytest.raises(UnsafeNameError) as caught:
        check_identifier(value, what="model.shop.x alias")
    message = str(caught.value)
    assert message.startswith(f"model.shop.x alias {value!r} is not a safe SQL identifier")
    assert "\n" not in message
    assert caught.value.exit_code == 2
