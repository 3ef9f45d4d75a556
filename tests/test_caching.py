"""survey.caching: a bounded cache that drops its oldest entry when full, entries dropped
explicitly, one cache per app, and ``clear`` emptying an app's caches and no other's."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from survey import caching
from survey.caching import AppCache, Cache


def test_when_full_the_oldest_added_goes():
    cache: Cache[str, int] = Cache(maxsize=3)
    for n, key in enumerate("abc"):
        cache.put(key, n)
    assert cache.get("a") == 0  # reading moves nothing: "a" is still the oldest
    cache.put("d", 3)
    assert len(cache) == 3
    assert "a" not in cache
    assert cache.keys() == ["b", "c", "d"]
    assert [cache.get(key) for key in "bcd"] == [1, 2, 3]


def test_putting_a_key_again_replaces_it_and_drops_nothing():
    cache: Cache[str, int] = Cache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.put("a", 10) == 10
    assert (cache.get("a"), cache.get("b"), len(cache)) == (10, 2, 2)


def test_setting_an_item_is_putting_it():
    cache: Cache[str, int] = Cache(maxsize=1)
    cache["a"] = 1
    cache["b"] = 2
    assert cache.keys() == ["b"]


def test_get_with_a_default():
    cache: Cache[str, int] = Cache(maxsize=1)
    assert cache.get("missing") is None
    assert cache.get("missing", 0) == 0


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError):
        Cache(maxsize=0)


def test_discard_drops_the_stale_keys_only():
    cache: Cache[tuple[int, int], str] = Cache(maxsize=10)
    for release in (1, 2, 3):
        cache.put((release, 1), f"r{release}")
    cache.discard(lambda key: key[0] < 3)
    assert len(cache) == 1
    assert cache.get((3, 1)) == "r3"


def test_get_or_make_makes_once_and_keeps_what_it_made():
    cache: Cache[str, object] = Cache(maxsize=4)
    made = []

    def make():
        made.append(1)
        return object()

    first = cache.get_or_make("x", make)
    assert cache.get_or_make("x", make) is first
    assert made == [1]


def test_get_or_make_keeps_none_too():
    cache: Cache[str, None] = Cache(maxsize=4)
    made = []
    assert cache.get_or_make("x", lambda: made.append(1)) is None
    assert cache.get_or_make("x", lambda: made.append(1)) is None
    assert made == [1]


def test_threads_asking_together_make_the_value_once():
    cache: Cache[str, int] = Cache(maxsize=4)
    calls, start = [], threading.Barrier(8)

    def make():
        calls.append(1)
        return 42

    def ask():
        start.wait()
        assert cache.get_or_make("x", make) == 42

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]


def test_what_is_made_may_read_the_same_cache():
    cache: Cache[str, int] = Cache(maxsize=4)
    assert cache.get_or_make("outer", lambda: cache.get_or_make("inner", lambda: 1) + 1) == 2


def test_each_app_has_its_own_cache():
    declared: AppCache[str, int] = AppCache("test numbers", maxsize=2)
    one, two = Flask("one"), Flask("two")
    declared.of(one).put("a", 1)
    assert declared.of(one) is declared.of(one)
    assert declared.of(two) is not declared.of(one)
    assert declared.of(two).get("a") is None
    assert declared.of(one).maxsize == declared.of(two).maxsize == 2


def test_clear_empties_every_cache_of_one_app_and_no_other():
    numbers: AppCache[str, int] = AppCache("test numbers", maxsize=2)
    names: AppCache[str, str] = AppCache("test names", maxsize=2)
    one, two = Flask("one"), Flask("two")
    numbers.of(one).put("a", 1)
    names.of(one).put("a", "x")
    numbers.of(two).put("a", 2)
    caching.clear(one)
    assert len(numbers.of(one)) == len(names.of(one)) == 0
    assert numbers.of(two).get("a") == 2
    caching.clear(Flask("three"))  # an app without caches: nothing to do


def test_the_dashboard_snapshots_are_cleared_for_their_app(app):
    """What tests and the benchmark use to make a first request: no snapshot kept."""
    from survey.dashboard import data

    with app.app_context():
        data.SNAPSHOTS.of(app).put((1, 1), "a snapshot")
        caching.clear(app)
        assert len(data.SNAPSHOTS.of(app)) == 0
