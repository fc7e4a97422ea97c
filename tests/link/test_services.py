"""The services helper: a missing Mosquitto or PostgreSQL is a sentence (the tests skip on it,
or fail where the services are required), and what counts as required."""

from __future__ import annotations

import pytest

from cart.sim import services


def test_a_missing_broker_is_a_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(services, "MOSQUITTO_PATHS", ())
    with pytest.raises(services.ServiceUnavailable, match="mosquitto is not installed"):
        services.Broker(tmp_path)


def test_a_missing_postgres_is_a_sentence(monkeypatch):
    monkeypatch.delenv("CART_TEST_PG", raising=False)
    monkeypatch.setattr(services, "PG_BIN_DIRS", ("/nonexistent",))
    with pytest.raises(services.ServiceUnavailable, match="PostgreSQL's server is not installed"):
        services.Postgres().start()


@pytest.mark.parametrize(
    "env, want",
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"CI": "false"}, False),
        ({"CART_LINK_SERVICES": "required"}, True),
        ({"CART_LINK_SERVICES": "optional"}, False),
    ],
)
def test_services_are_required_in_ci(monkeypatch, env, want):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CART_LINK_SERVICES", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert services.required() is want
