"""`eventually`: a test's wait for something asynchronous fails the test when it does not happen."""
import itertools

import pytest

from crm_common.testing.waiting import NotReached, eventually


def test_the_value_that_satisfied_the_wait_is_returned():
    counter = itertools.count()
    assert eventually(lambda: next(counter), until=lambda n: n >= 3, interval=0) == 3


def test_a_wait_that_is_never_satisfied_fails_the_test_showing_the_last_value():
    counter = itertools.count()
    with pytest.raises(AssertionError) as failed:
        eventually(lambda: {"status": "running", "polls": next(counter)}, until=lambda run: run["status"] == "done",
                   timeout=0.05, interval=0.01)
    assert isinstance(failed.value, NotReached)
    assert "not reached within 0.05 s" in str(failed.value) and "'status': 'running'" in str(failed.value)


def test_a_falsy_value_is_not_reached_by_default():
    with pytest.raises(NotReached):
        eventually(list, timeout=0.02, interval=0.01)


def test_a_long_last_value_is_cut_short_in_the_message():
    with pytest.raises(NotReached) as failed:
        eventually(lambda: "x" * 5000, until=lambda text: False, timeout=0.01, interval=0.01)
    assert len(str(failed.value)) < 700 and str(failed.value).endswith("...")
