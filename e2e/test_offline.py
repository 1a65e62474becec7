"""Scenario 7: the connection indicator, and catching up on changes made while offline."""

import json
import re

from playwright.sync_api import expect

from conftest import api, create_invitation, new_person, sign_up, sign_up_with_org, tree_node, unique

EVENTS = re.compile(r"/api/v1/events$")
OFFLINE = "Offline — reconnecting…"


def second_admin(new_context, admin_page, org_id):
    """Another person who joins as admin; returns their context."""
    code, _ = create_invitation(admin_page, org_id)
    context = new_context()
    page = context.new_page()
    sign_up(page, new_person("helper"))
    page.goto(f"/#/join/{code}")
    page.get_by_test_id("join-accept").click()
    expect(page.get_by_test_id("list-title")).to_be_visible()
    members = api(admin_page.context, "GET", f"/api/v1/orgs/{org_id}/members").json()["items"]
    helper = next(m for m in members if m["role"] == "member")
    assert api(admin_page.context, "PATCH", f"/api/v1/orgs/{org_id}/members/{helper['id']}", {"role": "admin"}).ok
    return context


def root_id(context, org_id):
    departments = api(context, "GET", f"/api/v1/orgs/{org_id}/departments").json()["items"]
    return next(d["id"] for d in departments if not d.get("parentId"))


def test_browser_offline_then_catch_up(new_context):
    context = new_context()
    page = context.new_page()
    _, _, org_id = sign_up_with_org(page)
    other = second_admin(new_context, page, org_id)
    page.goto(f"/#/org/{org_id}")
    connection = page.get_by_test_id("connection")
    expect(connection).to_have_text("Online")

    context.set_offline(True)
    expect(connection).to_have_text(OFFLINE)
    name = unique("Made-offline")
    assert api(other, "POST", f"/api/v1/orgs/{org_id}/departments", {"name": name, "parentId": root_id(other, org_id)}).ok
    expect(tree_node(page, name)).to_have_count(0)

    context.set_offline(False)
    expect(connection).to_have_text("Online")
    expect(tree_node(page, name)).to_be_visible()


def test_dropped_socket_reconnects_and_resumes(new_context):
    context = new_context()
    page = context.new_page()
    blocked = {"on": False}
    routes = []

    def handle(ws):
        if blocked["on"]:
            ws.close(code=1001, reason="blocked by test")
            return
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(EVENTS, handle)
    _, _, org_id = sign_up_with_org(page)
    other = second_admin(new_context, page, org_id)
    page.goto(f"/#/org/{org_id}")
    connection = page.get_by_test_id("connection")
    expect(connection).to_have_text("Online")

    blocked["on"] = True
    for ws in routes:
        ws.close(code=1001, reason="blocked by test")
    expect(connection).to_have_text(OFFLINE)
    expect(connection).to_have_attribute("data-state", "offline")

    name = unique("Missed")
    assert api(other, "POST", f"/api/v1/orgs/{org_id}/departments", {"name": name, "parentId": root_id(other, org_id)}).ok
    expect(tree_node(page, name)).to_have_count(0)

    blocked["on"] = False
    expect(connection).to_have_text("Online", timeout=20_000)
    expect(tree_node(page, name)).to_be_visible()


def test_resync_fetches_the_organisation_afresh(new_context):
    """When the server no longer keeps the missed events it answers `resume` with `resync`
    (simulated here after the first connection); the app must refetch over HTTP."""
    context = new_context()
    page = context.new_page()
    connections = []

    def handle(ws):
        connections.append(ws)
        if len(connections) == 1:
            ws.connect_to_server()
            return

        def answer(message):
            request = json.loads(message)
            if request["type"] == "resume":
                for org, cursor in request["cursors"].items():
                    ws.send(json.dumps({"type": "resync", "org": org, "data": {"latestSeq": cursor + 50}}))
                ws.send(json.dumps({"type": "resumed", "data": {"cursors": {}}}))

        ws.on_message(answer)
        ws.send(json.dumps({"type": "hello", "data": {"userId": "test", "connectionId": "test", "pingInterval": 30}}))

    page.route_web_socket(EVENTS, handle)
    _, _, org_id = sign_up_with_org(page)
    connection = page.get_by_test_id("connection")
    expect(connection).to_have_text("Online")

    connections[0].close(code=1001, reason="server restarting")
    expect(connection).to_have_text(OFFLINE)
    name = unique("Resynced")
    assert api(context, "POST", f"/api/v1/orgs/{org_id}/departments", {"name": name, "parentId": root_id(context, org_id)}).ok

    expect(connection).to_have_text("Online", timeout=20_000)
    expect(tree_node(page, name)).to_be_visible()
