"""Fixtures for the load tests: real gunicorn processes on the test database, a Redis
database for shared rate limits, and a loopback address of the run's own."""

from __future__ import annotations

import itertools
import os
import random

import pytest

from .runner import Gunicorn, free_port, loopback_source

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
# Load that must not be throttled: the limits are raised, not switched off, so the
# limiter still runs (and, with Redis, still talks to Redis) on every request.
UNTHROTTLED = {"STIGEN_SUBMIT_LIMIT": "100000 per minute", "STIGEN_PAGE_LIMIT": "100000 per minute"}


@pytest.fixture
def source_address() -> str:
    return loopback_source()


@pytest.fixture
def redis_url(source_address):
    """A Redis database for this test's rate limits (an empty one of 8–15 if there is
    one). Keys hold the client address, and this run's client has a loopback address of
    its own, so nothing meets another run's keys; they are deleted afterwards."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        empty = []
        for number in range(8, 16):
            with Redis.from_url(f"{REDIS}/{number}", socket_timeout=2) as probe:
                if probe.dbsize() == 0:
                    empty.append(number)
    except (RedisError, OSError) as error:
        pytest.skip(f"needs Redis at {REDIS} to share rate limits between instances: {error}")
    number = random.choice(empty or list(range(8, 16)))
    url = f"{REDIS}/{number}"
    yield url
    with Redis.from_url(url, socket_timeout=2) as redis:
        for key in list(redis.scan_iter(match=f"*{source_address}*")):
            redis.delete(key)


@pytest.fixture
def start_gunicorn(app, database_url, tmp_path):
    """``start_gunicorn(count, **env)``: ``count`` gunicorns (3 workers each) on the test
    database, ready to serve; every process is stopped afterwards, pass or fail."""
    started = itertools.count()
    running: list[Gunicorn] = []

    def stop_all() -> None:
        for server in running:  # all at once: each takes a second or more to drain
            server.terminate()
        failures = []
        for server in running:
            try:
                server.stop()
            except Exception as error:  # noqa: BLE001 - stop the others, then report
                failures.append(error)
        if failures:
            raise failures[0]

    def start(count: int = 1, **env) -> list[Gunicorn]:
        ports: set[int] = set()
        while len(ports) < count:
            ports.add(free_port())
        servers = []
        for port in sorted(ports):
            server = Gunicorn(
                {
                    "DATABASE_URL": database_url,
                    "STIGEN_INSTANCE_PATH": str(tmp_path / "instance"),
                    "SECRET_KEY": "load-test-shared-secret",
                    "STIGEN_WORKERS": "3",
                    "STIGEN_RATELIMIT_STORAGE": "memory://",
                    **UNTHROTTLED,
                    **env,
                    "STIGEN_BIND": f"127.0.0.1:{port}",
                },
                tmp_path / f"gunicorn-{next(started)}.log",
            )
            running.append(server)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        return servers

    try:
        yield start
    finally:
        stop_all()
