"""Fixtures for the store link: a PostgreSQL cluster, a store CA, brokers with TLS and the ACL.

The services come from ``cart.sim.services``: the cluster ``.ci/services up`` started
(``$CART_TEST_PG``) or one of our own; brokers are started per test. Where Mosquitto or
PostgreSQL cannot be started the tests skip with the reason, except in CI (``CI`` set) or with
``CART_LINK_SERVICES=required``, where that is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cart.common.mqtt import Endpoint
from cart.office.pki import StoreCA, acl_text
from cart.sim import services
from cart.store.loading import load_store

STORE = load_store().config.id


def _unavailable(why: str):
    if services.required():
        pytest.fail(f"a link service is required here but unavailable: {why}")
    pytest.skip(f"link services unavailable: {why}")


@pytest.fixture(scope="session")
def pg():
    try:
        server = services.Postgres().start()
    except services.ServiceUnavailable as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture
def dsn(pg) -> str:
    return pg.create_database()


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> StoreCA:
    ca = StoreCA(tmp_path_factory.mktemp("pki"))
    ca.server = ca.issue("localhost", server=True)
    ca.service = ca.issue("store-service")
    return ca


class Store:
    """A store's broker (TLS, client certificates, the ACL) and how to reach it."""

    def __init__(self, folder: Path, pki: StoreCA, **broker_kw) -> None:
        self.pki = pki
        self.broker = services.Broker(
            folder,
            tls=(pki.cert_path, pki.server.cert, pki.server.key),
            acl=acl_text(STORE),
            **broker_kw,
        )
        self.id = STORE

    def endpoint(self, cn: str) -> Endpoint:
        issued = (
            self.pki.service
            if cn == "store-service"
            else self.pki.issue(cn, folder=self.pki.folder / "carts")
        )
        return Endpoint("127.0.0.1", self.broker.port, self.pki.cert_path, issued.cert, issued.key)


@pytest.fixture
def store_net(tmp_path, pki):
    try:
        net = Store(tmp_path, pki)
        net.broker.start()
    except services.ServiceUnavailable as exc:
        _unavailable(str(exc))
    yield net
    net.broker.stop()
