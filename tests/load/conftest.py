"""Fixtures for the load tests: real gunicorn processes on the test database, a Redis
database for shared rate limits, and a loopback address of the run's own."""

from __future__ import annotations

import os
import random
from contextlib import ExitStack

import pytest

from .runner import Gunicorn, free_port, loopback_source

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
# Load that must not be throttled: the limits are raised, not switched off, so the
# limiter still runs (and, with Redis, still talks to Redis) on every request.
UNTHROTTLED = {"STIGEN_SUBMIT_LIMIT": "100000 per minute",
               "STIGEN_PAGE_LIMIT": "100000 per minute"}


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
        with Redis.from_url(REDIS, socket_timeout=2) as probe:
            probe.ping()
            empty = [n for n in range(8, 16) if probe.execute_command("SELECT", n) == b"OK"
                     and probe.dbsize() == 0]
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
    stack = ExitStack()

    def start(count: int = 1, **env) -> list[Gunicorn]:
        ports: set[int] = set()
        while len(ports) < count:
            ports.add(free_port())
        servers = []
        for index, port in enumerate(sorted(ports)):
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
                tmp_path / f"gunicorn-{len(servers)}-{index}.log",
            )
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        return servers

    with stack:
        yield start
