"""Scenario 3: a member of another organisation can neither see nor reach the first one."""

from playwright.sync_api import expect

from conftest import api, create_department, sign_up_with_org, unique


def test_other_organisation_is_not_found(new_context):
    alice_context = new_context()
    alice = alice_context.new_page()
    _, org_a_name, org_a = sign_up_with_org(alice)
    secret = unique("Secret")
    create_department(alice, secret)
    members = api(alice_context, "GET", f"/api/v1/orgs/{org_a}/members").json()["items"]
    alice_member = members[0]["id"]
    departments = api(alice_context, "GET", f"/api/v1/orgs/{org_a}/departments").json()["items"]
    secret_id = next(d["id"] for d in departments if d["name"] == secret)

    bob_context = new_context()
    bob = bob_context.new_page()
    sign_up_with_org(bob)

    for path in (f"/org/{org_a}", f"/org/{org_a}/dept/{secret_id}", f"/org/{org_a}/member/{alice_member}",
                 f"/org/{org_a}/invites", f"/org/{org_a}/import", f"/org/{org_a}/settings"):
        bob.goto(f"/#{path}")
        expect(bob.get_by_test_id("not-found")).to_be_visible()
        expect(bob.locator("body")).not_to_contain_text(org_a_name)
        expect(bob.locator("body")).not_to_contain_text(secret)

    for method, path, body in (
        ("GET", f"/api/v1/orgs/{org_a}", None),
        ("GET", f"/api/v1/orgs/{org_a}/departments", None),
        ("GET", f"/api/v1/orgs/{org_a}/members", None),
        ("GET", f"/api/v1/orgs/{org_a}/members/{alice_member}", None),
        ("GET", f"/api/v1/orgs/{org_a}/invitations", None),
        ("GET", f"/api/v1/orgs/{org_a}/events?after=0", None),
        ("PATCH", f"/api/v1/orgs/{org_a}", {"name": "taken over"}),
        ("POST", f"/api/v1/orgs/{org_a}/departments", {"name": "intruder", "parentId": secret_id}),
        ("DELETE", f"/api/v1/orgs/{org_a}/departments/{secret_id}", None),
    ):
        response = api(bob_context, method, path, body)
        assert response.status == 404, (method, path, response.status)
        assert org_a_name not in response.text() and secret not in response.text()

    alice.reload()
    expect(alice.get_by_test_id("list-title")).to_have_text(org_a_name)
    expect(alice.get_by_test_id("tree-node").filter(has_text=secret)).to_be_visible()
