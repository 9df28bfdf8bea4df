"""A problem's own members (type, title, status, detail) are what the error says, whatever extra it carries."""
import json

from crm_gateway.app import create_app
from crm_gateway.problems import problem


def test_extra_members_are_added_but_never_replace_the_problems_own():
    with create_app().test_request_context("/"):
        response = problem(409, "already there", code="conflict", existing_id=7, **{"type": "urn:other"})
    body = json.loads(response.get_data())
    assert response.status_code == 409 and body["status"] == 409
    assert body["type"] == "urn:crm:problem:conflict" and body["detail"] == "already there"
    assert body["existing_id"] == 7
