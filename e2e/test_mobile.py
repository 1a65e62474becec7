"""Scenario 6: a phone-sized screen: sign in, open the department drawer, open a profile."""

from playwright.sync_api import expect

from conftest import create_department, member_row, sign_in, sign_up_with_org, tree_node, unique

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


def test_browse_directory_on_a_phone(new_context):
    desk = new_context().new_page()
    owner, org_name, _ = sign_up_with_org(desk, kind="school")
    grade = unique("Class")
    create_department(desk, grade, kind="class")
    desk.get_by_test_id("signout").click()
    expect(desk.get_by_test_id("signin-page")).to_be_visible()

    phone = new_context(**PHONE).new_page()
    sign_in(phone, owner)
    expect(phone.get_by_test_id("list-title")).to_have_text(org_name)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    tree = phone.get_by_test_id("dept-tree")
    expect(tree).not_to_be_visible()
    phone.get_by_test_id("tree-toggle").click()
    expect(tree).to_be_visible()
    tree_node(phone, grade).click()
    expect(tree).not_to_be_visible()
    expect(phone.get_by_test_id("list-title")).to_contain_text(grade)

    phone.get_by_test_id("tree-toggle").click()
    tree_node(phone, org_name).click()
    member_row(phone, owner.name).click()
    profile = phone.get_by_test_id("member-profile")
    expect(profile.get_by_test_id("profile-name")).to_have_text(owner.name)
    expect(profile).to_contain_text(owner.login)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    profile.get_by_role("checkbox", name=grade).check()
    profile.get_by_test_id("profile-save").click()
    expect(profile.get_by_test_id("profile-departments")).to_contain_text(grade)
