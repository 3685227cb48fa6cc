from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from recommender.answers import Answers, field_choices, parse_answers
from recommender.conditions import AnswerTest, AnyOf, FindingTest, NotOf
from recommender.knowledge import load_knowledge
from recommender.paths import default_root

# Keep the tests hermetic: the on-disk cache goes to a fresh folder, not the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="stretchwise-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def kb_copy(tmp_path):
    """A writable copy of the bundled knowledge, for tests that break it on purpose."""
    root = default_root()
    for name in ("rules", "content"):
        shutil.copytree(root / name, tmp_path / name)
    return tmp_path


BASE: dict[str, Any] = {"areas": ["low_back"], "pain": 4, "duration_weeks": 3, "red_flags": []}


def person(**changes: Any) -> Answers:
    """Valid answers: the base plus changes."""
    return parse_answers({**BASE, **changes}, "test")


def _subset(field: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(field_choices(field)), unique=True)


#: Every valid answers dict, leaning toward the rare corners (red flags, conditions, no floor).
answers_dicts = st.fixed_dictionaries(
    {
        "areas": st.lists(st.sampled_from(field_choices("areas")), min_size=1, unique=True),
        "pain": st.integers(0, 10),
        "duration_weeks": st.integers(0, 200),
        "red_flags": st.one_of(st.just([]), _subset("red_flags")),
    },
    optional={
        "name": st.text(st.characters(categories=("L", "N", "Zs", "P")), max_size=80),
        "age": st.one_of(st.none(), st.integers(12, 110)),
        "numbness_or_tingling": st.sampled_from(field_choices("numbness_or_tingling")),
        "sitting_hours": st.integers(0, 24),
        "posture": _subset("posture"),
        "stiff_to_turn_head": st.booleans(),
        "stress": st.sampled_from(field_choices("stress")),
        "sleeps_on_stomach": st.booleans(),
        "worse_with": _subset("worse_with"),
        "home_care_not_helping": st.booleans(),
        "conditions": _subset("conditions"),
        "kneeling_hurts": st.booleans(),
        "floor_ok": st.booleans(),
        "equipment": _subset("equipment"),
        "minutes": st.integers(5, 60),
    },
)


#: Debian's Chromium, driven by Playwright without any browser download.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session (CI installs it; elsewhere skip without it)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI installs Chromium: {CHROMIUM} is missing")
        pytest.skip("no Chromium here")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def condition_holds(cond: Any, values: dict[str, Any]) -> bool | None:
    """A condition's truth in plain Python; None if it needs a derived finding."""
    if isinstance(cond, AnswerTest):
        return cond.holds(values)
    if isinstance(cond, NotOf):
        return not cond.not_.holds(values)
    if isinstance(cond, AnyOf):
        found = [condition_holds(c, values) for c in cond.any]
        return True if True in found else None if None in found else False
    assert isinstance(cond, FindingTest)
    return None


def load_answers(path: str) -> Answers:
    """An answers file read through the one reader, with the bundled knowledge base."""
    from recommender.reader import load_answers as read

    return read(path, load_knowledge())
