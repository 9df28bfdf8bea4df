"""A ServiceError keeps what it says: its extra members cannot overwrite the problem's own, and it crosses RPC
with its errors and extra intact."""
import pickle

import pytest

from crm_common.errors import ServiceError, conflict


@pytest.mark.parametrize("key", ["status", "type", "title", "detail", "errors", "code", "request_id"])
def test_an_extra_member_may_not_overwrite_the_problem(key):
    with pytest.raises(ValueError, match=key):
        ServiceError("conflict", "taken", extra={key: "x"})
    with pytest.raises((ValueError, TypeError)):  # the helper refuses it as well (detail is its own argument)
        conflict("taken", **{key: "x"})


def test_extra_and_errors_survive_the_trip_across_rpc():
    error = ServiceError("conflict", "lead cannot move", errors={"status": ["not allowed"]},
                         extra={"allowed": ["qualified"]})
    again = ServiceError(*error.args)  # nameko rebuilds the exception from its args
    assert (again.code, again.status, again.errors, again.extra) == (
        "conflict", 409, {"status": ["not allowed"]}, {"allowed": ["qualified"]})
    assert pickle.loads(pickle.dumps(error)).extra == {"allowed": ["qualified"]}
