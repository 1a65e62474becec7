"""Scenario 4: an invitation that needs approval, opened by someone not signed in yet."""

from playwright.sync_api import expect

from conftest import create_invitation, member_row, new_person, sign_up, sign_up_with_org


def test_joiner_waits_until_admin_approves(new_context):
    admin = new_context().new_page()
    _, org_name, org_id = sign_up_with_org(admin)
    _, link = create_invitation(admin, org_id, approval=True)

    joiner_page = new_context().new_page()
    joiner = new_person("joiner")
    joiner_page.goto(link)
    expect(joiner_page.get_by_test_id("join-org")).to_contain_text(org_name)
    joiner_page.get_by_test_id("join-signup").click()
    sign_up(joiner_page, joiner)
    expect(joiner_page.get_by_test_id("join-waiting")).to_contain_text(org_name)
    expect(joiner_page.get_by_test_id("org-switcher")).not_to_contain_text(org_name)

    request = admin.get_by_test_id("join-request").filter(has_text=joiner.name)
    expect(request).to_be_visible()
    request.get_by_test_id("join-approve").click()
    expect(request).to_have_count(0)

    expect(joiner_page.get_by_test_id("list-title")).to_have_text(org_name)
    expect(joiner_page.get_by_test_id("org-switcher")).to_contain_text(org_name)
    expect(member_row(joiner_page, joiner.name)).to_be_visible()

    admin.get_by_test_id("nav-directory").click()
    expect(member_row(admin, joiner.name)).to_be_visible()


def test_rejected_joiner_is_told(new_context):
    admin = new_context().new_page()
    _, org_name, org_id = sign_up_with_org(admin)
    code, _ = create_invitation(admin, org_id, approval=True)

    joiner_page = new_context().new_page()
    joiner = new_person("joiner")
    sign_up(joiner_page, joiner)
    joiner_page.get_by_test_id("join-code").fill(code)
    joiner_page.get_by_test_id("join-code-submit").click()
    joiner_page.get_by_test_id("join-accept").click()
    expect(joiner_page.get_by_test_id("join-waiting")).to_be_visible()

    admin.get_by_test_id("join-request").filter(has_text=joiner.name).get_by_test_id("join-reject").click()
    expect(joiner_page.get_by_test_id("join-rejected")).to_contain_text(org_name)
