"""Scenario 1: an admin invites, another person joins with the short code, and the admin's
open member list shows them without a reload."""

from playwright.sync_api import expect

from conftest import create_department, create_invitation, member_row, new_person, sign_up, sign_up_with_org, tree_node


def test_member_joining_with_code_appears_live(new_context):
    admin = new_context().new_page()
    owner, org_name, org_id = sign_up_with_org(admin)
    create_department(admin, "Sales")

    code, _ = create_invitation(admin, org_id, department="Sales")
    admin.get_by_test_id("nav-directory").click()
    expect(member_row(admin, owner.name)).to_be_visible()
    admin.evaluate("window.__notReloaded = true")

    joiner_page = new_context().new_page()
    joiner = new_person("joiner")
    sign_up(joiner_page, joiner)
    joiner_page.get_by_test_id("join-code").fill(code)
    joiner_page.get_by_test_id("join-code-submit").click()
    expect(joiner_page.get_by_test_id("join-org")).to_contain_text(org_name)
    joiner_page.get_by_test_id("join-accept").click()
    expect(joiner_page.get_by_test_id("list-title")).to_have_text(org_name)
    expect(member_row(joiner_page, joiner.name)).to_be_visible()

    expect(member_row(admin, joiner.name)).to_be_visible()
    assert admin.evaluate("window.__notReloaded") is True

    tree_node(admin, "Sales").click()
    expect(member_row(admin, joiner.name)).to_be_visible()
    expect(member_row(admin, owner.name)).to_have_count(0)
