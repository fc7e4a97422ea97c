"""A store's infrastructure on loopback, for the tests and the link benchmark: Mosquitto brokers
and a PostgreSQL cluster in temporary folders, started and stopped as the test needs.

Nothing here is the store's production setup (that is Debian's own packages and units, docs in
``docs/LINK.md``); this starts the same binaries with throw-away configurations:

- :class:`Broker`: ``mosquitto -c FILE`` on ``127.0.0.1``, a free port, persistence in its
  folder (so a stopped and restarted broker keeps its queued QoS 1 messages), optional TLS with
  client certificates (the certificate's CN is the user name), an ACL file, a bridge to another
  broker. ``stop()`` / ``start()`` model an outage.
- :class:`Postgres`: ``initdb`` + ``pg_ctl`` in a folder under ``/tmp`` on a free port, trust
  authentication on loopback only; as root it runs as the ``postgres`` user (``initdb`` refuses
  root). ``$CART_TEST_PG`` (a DSN, set by ``.ci/services up``) reuses a running cluster.

:func:`required` says whether missing services are a failure (``CI`` set, or
``CART_LINK_SERVICES=required``) or a reason to skip. ``python -m cart.sim.services up DIR``
starts a cluster and writes ``DIR/env``; ``down DIR`` stops it (``.ci/services``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_BIN_DIRS = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)
MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class ServiceUnavailable(RuntimeError):
    """A service cannot be started here (not installed, or it failed): the sentence says why."""


def required() -> bool:
    """Missing services fail the tests (CI, or ``CART_LINK_SERVICES=required``)."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("CART_LINK_SERVICES", "").lower() == "required"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceUnavailable(f"the service on port {port} exited ({proc.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceUnavailable(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def mosquitto_path() -> str:
    for p in (shutil.which("mosquitto"), *MOSQUITTO_PATHS):
        if p and os.access(p, os.X_OK):
            return p
    raise ServiceUnavailable("mosquitto is not installed (.ci/services install: apt-get)")


def rss_kib(pid: int) -> int:
    """A process's resident memory in KiB (Linux /proc), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Broker:
    """One Mosquitto on loopback. ``tls``: (ca, server cert, server key) paths: the listener
    requires a client certificate whose CN is the user name; ``acl``: the ACL file's text;
    ``plain``: also a plain listener without authentication (for a bridge or a store service on
    the same host); ``bridge``: extra configuration lines (a ``connection`` block)."""

    def __init__(
        self,
        folder: Path,
        *,
        tls: tuple[Path, Path, Path] | None = None,
        acl: str | None = None,
        plain: bool = True,
        bridge: str = "",
        name: str = "broker",
    ) -> None:
        self.folder = Path(folder) / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port() if tls else 0
        self.plain_port = free_port() if plain else 0
        self.proc: subprocess.Popen | None = None
        self.exe = mosquitto_path()
        lines = [
            # as root Mosquitto would switch to its own user, who cannot read the test's files
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings true",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            "log_dest file " + str(self.folder / "mosquitto.log"),
            "log_type error",
            "log_type warning",
        ]
        if tls:
            ca, cert, key = tls
            lines += [
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous false",
                f"cafile {ca}",
                f"certfile {cert}",
                f"keyfile {key}",
                "require_certificate true",
                "use_identity_as_username true",
            ]
            if acl is not None:
                (self.folder / "acl").write_text(acl)
                lines.append(f"acl_file {self.folder / 'acl'}")
        if plain:
            lines += [f"listener {self.plain_port} 127.0.0.1", "allow_anonymous true"]
        if bridge:
            lines.append(bridge)
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Broker:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "stderr.log", "ab"),  # noqa: SIM115 (the child keeps it)
        )
        wait_port(self.port or self.plain_port, proc=self.proc)
        if self.port and self.plain_port:
            wait_port(self.plain_port, proc=self.proc)
        return self

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), then wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid) if self.proc is not None else 0

    def log(self) -> str:
        p = self.folder / "mosquitto.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _pg_bin() -> Path:
    for d in PG_BIN_DIRS:
        if os.access(Path(d) / "initdb", os.X_OK):
            return Path(d)
    raise ServiceUnavailable("PostgreSQL's server is not installed (.ci/services install)")


def _as_postgres() -> list[str]:
    """As root, run the server as ``postgres`` (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceUnavailable("running as root and there is no postgres user") from None
    return ["runuser", "-u", "postgres", "--"]


class Postgres:
    """A PostgreSQL cluster of our own, or the one ``$CART_TEST_PG`` names."""

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn or os.environ.get("CART_TEST_PG") or ""
        self.own = not self.dsn
        self.folder: Path | None = None
        self.port = 0

    def start(self) -> Postgres:
        if not self.own or self.folder is not None:
            return self
        bindir, prefix = _pg_bin(), _as_postgres()
        self.folder = Path(tempfile.mkdtemp(prefix="cart-pg-"))
        if prefix:
            shutil.chown(self.folder, "postgres", "postgres")
        data, self.port = self.folder / "data", free_port()
        run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        try:
            subprocess.run(
                [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "cart"]
                + ["--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                **run,
            )
            opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "30"]
                + ["-l", str(self.folder / "pg.log"), "-o", opts, "start"],
                **run,
            )
        except subprocess.CalledProcessError as exc:
            why = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            self.stop()
            raise ServiceUnavailable(f"PostgreSQL did not start: {' '.join(why)}") from None
        self.dsn = f"host=127.0.0.1 port={self.port} user=cart dbname=postgres"
        return self

    def create_database(self, name: str | None = None) -> str:
        """A fresh database; its DSN."""
        import psycopg

        name = name or "t" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        parts = [p for p in self.dsn.split() if not p.startswith("dbname=")]
        return " ".join([*parts, f"dbname={name}"])

    def server_pid(self) -> int:
        if self.folder is None:
            return 0
        try:
            return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self) -> None:
        if not self.own or self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*_as_postgres(), str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast"]
                + ["-w", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def main(argv: list[str]) -> int:
    """``up DIR``: a cluster, its DSN in ``DIR/env`` (``CART_TEST_PG=...``); ``down DIR``."""
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print("usage: python -m cart.sim.services up|down DIR", file=sys.stderr)
        return 2
    folder = Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    env = folder / "env"
    if argv[0] == "up":
        pg = Postgres(dsn="")
        pg.own = True
        try:
            pg.start()
        except ServiceUnavailable as exc:
            print(f"services: {exc}", file=sys.stderr)
            return 1
        env.write_text(f"CART_TEST_PG='{pg.dsn}'\nCART_TEST_PG_DIR='{pg.folder}'\n")
        print(f"services: PostgreSQL on 127.0.0.1:{pg.port} ({pg.folder})", file=sys.stderr)
        return 0
    if env.exists():
        for line in env.read_text().splitlines():
            if line.startswith("CART_TEST_PG_DIR="):
                pg = Postgres(dsn="")
                pg.own, pg.folder = True, Path(line.split("=", 1)[1].strip("'"))
                pg.stop()
        env.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
