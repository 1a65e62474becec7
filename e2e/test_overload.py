"""Overload: the web app retries by itself when the server sheds load (503 `overloaded` +
Retry-After), keeping a create's Idempotency-Key, so the person sees the action succeed."""

import json
import re

from playwright.sync_api import expect

from conftest import create_department, sign_up_with_org, unique

OVERLOADED = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503,
                         "code": "overloaded", "detail": "The server is busy; try again in a few seconds."})


def shed_first(page, pattern, method: str, count: int):
    """Answers the first `count` matching requests with 503 overloaded (Retry-After: 1), then lets
    them through; returns the list of requests seen, as (answer, Idempotency-Key)."""
    seen = []

    def handle(route, request):
        if request.method != method:
            route.continue_()
            return
        key = request.headers.get("idempotency-key")
        if len(seen) < count:
            seen.append(("503", key))
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                          body=OVERLOADED)
        else:
            seen.append(("passed", key))
            route.continue_()

    page.route(pattern, handle)
    return seen


def test_a_create_refused_twice_by_an_overloaded_server_goes_through_by_itself(page):
    sign_up_with_org(page)
    seen = shed_first(page, re.compile(r".*/api/v1/orgs/[^/]+/departments$"), "POST", 2)

    name = unique("Dept")
    create_department(page, name)  # waits for the department to show in the tree

    assert [answer for answer, _ in seen] == ["503", "503", "passed"]
    keys = {key for _, key in seen}
    assert len(keys) == 1 and None not in keys, seen  # one Idempotency-Key for every attempt


def test_the_app_loads_when_its_first_calls_are_shed(page):
    _, org_name, _ = sign_up_with_org(page)
    seen = shed_first(page, re.compile(r".*/api/v1/me$"), "GET", 2)

    page.reload()
    expect(page.get_by_test_id("list-title")).to_have_text(org_name)
    assert [answer for answer, _ in seen][:3] == ["503", "503", "passed"]
    expect(page.get_by_text("The server is busy")).to_have_count(0)
