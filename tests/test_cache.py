"""The on-disk cache only ever saves time: same results, keyed by content, errors ignored."""

from __future__ import annotations

from recommender import cache
from recommender.knowledge import load_knowledge


def _entries(root):
    return sorted(p.name for p in (root / "stretchwise").glob("knowledge-*.pickle"))


def test_cached_and_uncached_knowledge_are_identical(tmp_path, monkeypatch, kb_copy):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    first = load_knowledge(kb_copy)
    assert len(_entries(tmp_path / "c")) == 1  # filled on first load
    second = load_knowledge(kb_copy)  # from the cache
    monkeypatch.setenv("STRETCHWISE_NO_CACHE", "1")
    third = load_knowledge(kb_copy)
    assert first.digest == second.digest == third.digest
    assert first.rules == second.rules == third.rules
    assert first.exercises == second.exercises == third.exercises
    assert second.root == kb_copy


def test_an_edited_file_is_a_new_entry_not_a_stale_one(tmp_path, monkeypatch, kb_copy):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    before = load_knowledge(kb_copy)
    path = kb_copy / "rules" / "low_back.yaml"
    path.write_text(path.read_text().replace("at_least: 6", "at_least: 7", 1))
    kb = load_knowledge(kb_copy)
    assert kb.digest != before.digest
    assert kb.by_rule["sitting-tightens-hip-flexors"].when[0].at_least == 7
    assert len(_entries(tmp_path / "c")) == 2


def test_an_invalid_knowledge_base_is_never_cached(tmp_path, monkeypatch, kb_copy):
    import pytest

    from recommender.errors import KnowledgeError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    path = kb_copy / "rules" / "low_back.yaml"
    path.write_text(path.read_text().replace("at_least: 6", "at_least: six", 1))
    for _ in range(2):
        with pytest.raises(KnowledgeError):
            load_knowledge(kb_copy)
    assert _entries(tmp_path / "c") == []


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch, kb_copy):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert cache.cache_dir() is None
    assert load_knowledge(kb_copy).rules


def test_a_corrupt_entry_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []

    def make():
        calls.append(1)
        return {"a": 1}

    assert cache.cached_object("thing", make) == {"a": 1}
    for entry in (tmp_path / "stretchwise").glob("thing-*"):
        entry.write_bytes(b"not a pickle")
    assert cache.cached_object("thing", make) == {"a": 1}
    assert cache.cached_object("thing", make) == {"a": 1}
    assert len(calls) == 2
