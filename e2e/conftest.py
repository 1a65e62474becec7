"""Fixtures and helpers for Tack's browser tests.

The browser tests drive Debian's Chromium against a running server at TACK_BASE_URL; without
that variable they are skipped (the static checks still run). Every test makes its own people and
organisations, named with a fresh uuid, so tests are independent and the server may hold data.
"""

import json
import os
import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect, sync_playwright

BASE_URL = os.environ.get("TACK_BASE_URL", "").rstrip("/")
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "correct-horse-battery"

expect.set_options(timeout=10_000)


@dataclass
class Person:
    name: str
    login: str
    password: str = PASSWORD


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_person(role: str = "person") -> Person:
    tag = uuid.uuid4().hex[:10]
    return Person(name=f"{role.title()} {tag}", login=f"{role}-{tag}@example.test")


@pytest.fixture(scope="session")
def browser():
    if not BASE_URL:
        pytest.skip("set TACK_BASE_URL to the server under test")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


def describe_pages(contexts, console) -> None:
    """What each page showed when a test failed: its address, its text and what its console said."""
    for n, context in enumerate(contexts):
        for page in context.pages:
            try:
                text = page.locator("body").inner_text(timeout=2_000)
            except Exception as error:  # noqa: BLE001 - a diagnostic must not hide the failure
                text = f"(unreadable: {error})"
            print(f"--- context {n}: {page.url}\n{text[:1500]}")
    for line in console:
        print(line)


@pytest.fixture
def new_context(browser, request):
    """Makes browser contexts (separate people) that are closed after the test; when the test
    fails, prints what every page showed and its console errors."""
    contexts = []
    console = []

    def watch(page):
        page.on("console", lambda m: m.type in ("error", "warning") and console.append(f"console {m.type}: {page.url} {m.text}"))
        page.on("pageerror", lambda e: console.append(f"page error: {page.url} {e}"))

    def make(**options):
        options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=BASE_URL, **options)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    if getattr(request.node, "call_failed", False):
        describe_pages(contexts, console)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


def sign_up(page: Page, person: Person) -> None:
    """Fills in the sign-up form (from wherever the page is) and submits it."""
    if "#/signup" not in page.url:
        page.goto("/#/signup")
    form = page.get_by_test_id("signup-form")
    form.get_by_test_id("name").fill(person.name)
    form.get_by_test_id("login").fill(person.login)
    form.get_by_test_id("password").fill(person.password)
    form.get_by_test_id("signup-submit").click()


def sign_in(page: Page, person: Person) -> None:
    page.goto("/#/signin")
    form = page.get_by_test_id("signin-form")
    form.get_by_test_id("login").fill(person.login)
    form.get_by_test_id("password").fill(person.password)
    form.get_by_test_id("signin-submit").click()


def create_org(page: Page, name: str, kind: str = "company") -> str:
    """Creates an organisation from the welcome page; returns its id."""
    form = page.get_by_test_id("create-org-form")
    form.get_by_test_id("org-name").fill(name)
    form.get_by_test_id("org-kind").select_option(kind)
    form.get_by_test_id("create-org-submit").click()
    expect(page.get_by_test_id("list-title")).to_have_text(name)
    return org_id_of(page)


def sign_up_with_org(page: Page, role: str = "owner", kind: str = "company"):
    person = new_person(role)
    sign_up(page, person)
    expect(page.get_by_test_id("welcome-page")).to_be_visible()
    org_name = unique("Org")
    org_id = create_org(page, org_name, kind)
    return person, org_name, org_id


def org_id_of(page: Page) -> str:
    match = re.search(r"#/org/([^/]+)", page.url)
    assert match, page.url
    return match.group(1)


def create_department(page: Page, name: str, kind: str = "department") -> None:
    form = page.get_by_test_id("dept-create-form")
    form.get_by_test_id("dept-name").fill(name)
    form.get_by_test_id("dept-kind").select_option(kind)
    form.get_by_test_id("dept-create").click()
    expect(tree_node(page, name)).to_be_visible()


def tree_node(page: Page, name: str):
    return page.get_by_test_id("tree-node").filter(has_text=name)


def member_row(page: Page, name: str):
    return page.get_by_test_id("member-row").filter(has_text=name)


def create_invitation(page: Page, org_id: str, *, approval: bool = False, department: str | None = None):
    """Creates an invitation on the admin page; returns (code, link)."""
    page.goto(f"/#/org/{org_id}/invites")
    form = page.get_by_test_id("invite-create-form")
    if department:
        form.get_by_test_id("invite-department").select_option(label=department)
    if approval:
        form.get_by_test_id("invite-approval").check()
    form.get_by_test_id("invite-create").click()
    code = page.get_by_test_id("invite-code")
    expect(code).to_have_text(re.compile(r"\S{4,}"))
    return code.inner_text().strip(), page.get_by_test_id("invite-link").input_value()


def api(context, method: str, path: str, body=None):
    """Calls the API as the context's signed-in person (cookie plus CSRF header)."""
    csrf = next((c["value"] for c in context.cookies() if c["name"] == "tack_csrf"), "")
    headers = {"X-CSRF-Token": csrf}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body)
    return context.request.fetch(f"{BASE_URL}{path}", method=method, headers=headers, data=data)


def member_id(context, org_id: str, name: str) -> str:
    """The member id of the person called `name`, as the context's signed-in person finds them."""
    found = api(context, "GET", f"/api/v1/orgs/{org_id}/members?q={name}")
    assert found.ok, found.text()
    return next(m["id"] for m in found.json()["items"] if m["name"] == name)


def join_org(new_context, owner_context, org_id: str, role: str = "member", **context_options):
    """Someone new signs up and joins the organisation with an invitation; returns (person, page)
    with the page signed in and knowing the membership."""
    invitation = api(owner_context, "POST", f"/api/v1/orgs/{org_id}/invitations", {})
    assert invitation.ok, invitation.text()
    page = new_context(**context_options).new_page()
    person = new_person(role)
    sign_up(page, person)
    expect(page.get_by_test_id("welcome-page")).to_be_visible()
    accepted = api(page.context, "POST", f"/api/v1/invitations/{invitation.json()['code']}/accept")
    assert accepted.ok, accepted.text()
    # Loaded afresh: a `GET /me` still in flight when the membership event arrives could undo it.
    page.reload()
    expect(page.get_by_test_id("org-switcher").locator(f"option[value='{org_id}']")).to_have_count(1)
    return person, page


def open_chat(page: Page, org_id: str) -> None:
    page.goto(f"/#/org/{org_id}/chat")
    expect(page.get_by_test_id("conversation-list")).to_be_attached()


def conversation_row(page: Page, name: str):
    return page.get_by_test_id("conversation").filter(has=page.get_by_test_id("conversation-name").filter(has_text=name))


def pick_member(page: Page, name: str):
    """The member called `name` in the open member picker, found by searching."""
    page.get_by_test_id("picker-search").fill(name)
    return page.get_by_test_id("picker-member").filter(has_text=name)


def start_direct_chat(page: Page, org_id: str, name: str) -> None:
    """Opens the 1:1 chat with `name` from the chat screen's "New chat"."""
    open_chat(page, org_id)
    page.get_by_test_id("new-chat").click()
    pick_member(page, name).click()
    expect(page.get_by_test_id("conversation-title")).to_have_text(name)


def create_group(page: Page, org_id: str, name: str, members) -> None:
    """Creates a group with the named members from the chat screen's "New group"."""
    open_chat(page, org_id)
    page.get_by_test_id("new-group").click()
    page.get_by_test_id("group-name").fill(name)
    for member in members:
        pick_member(page, member).get_by_role("checkbox").check()
    page.get_by_test_id("group-create").click()
    expect(page.get_by_test_id("conversation-title")).to_have_text(name)


def send_message(page: Page, text: str) -> None:
    page.get_by_test_id("composer-input").fill(text)
    page.get_by_test_id("composer-input").press("Enter")
    expect(sent_message(page, text)).to_be_visible()


def sent_message(page: Page, text: str):
    """A stored message (not one still sending) whose text contains `text`."""
    return page.get_by_test_id("message").filter(has=page.get_by_test_id("message-text").filter(has_text=text))
