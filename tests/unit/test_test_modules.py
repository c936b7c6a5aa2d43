"""pytest imports test modules by basename (rootdir-relative packages are not used here): two
modules of one name in tests/unit, tests/integration and tests/faults stop the whole run."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []
