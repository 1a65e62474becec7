"""Scenario 4: an invitation that needs approval, opened by someone not signed in yet; one's
waiting requests survive a reload and signing in again."""

from playwright.sync_api import expect

from conftest import create_invitation, member_row, new_person, sign_in, sign_up, sign_up_with_org


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

    joiner_page.reload()
    expect(joiner_page.get_by_test_id("join-waiting")).to_contain_text(org_name)
    expect(joiner_page.get_by_test_id("join-accept")).to_have_count(0)

    # Signed in again in another browser: the welcome screen says what they wait for.
    elsewhere = new_context().new_page()
    sign_in(elsewhere, joiner)
    expect(elsewhere.get_by_test_id("welcome-page").get_by_test_id("join-waiting")).to_contain_text(org_name)

    # Personal events reach only connected pages.
    expect(joiner_page.get_by_test_id("connection")).to_have_text("Online")
    expect(elsewhere.get_by_test_id("connection")).to_have_text("Online")
    request = admin.get_by_test_id("join-request").filter(has_text=joiner.name)
    expect(request).to_be_visible()
    request.get_by_test_id("join-approve").click()
    expect(request).to_have_count(0)

    expect(joiner_page.get_by_test_id("list-title")).to_have_text(org_name)
    expect(joiner_page.get_by_test_id("org-switcher")).to_contain_text(org_name)
    expect(member_row(joiner_page, joiner.name)).to_be_visible()
    expect(elsewhere.get_by_test_id("list-title")).to_have_text(org_name)
    expect(elsewhere.get_by_test_id("own-requests")).to_have_count(0)

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
    # Told on the join page, so not again in the header.
    joiner_page.goto("/#/welcome")
    expect(joiner_page.get_by_test_id("welcome-page")).to_be_visible()
    expect(joiner_page.get_by_test_id("own-requests")).to_be_empty()


def test_members_of_other_organisations_see_their_requests_in_the_header(new_context):
    admin = new_context().new_page()
    _, org_name, org_id = sign_up_with_org(admin)
    code, _ = create_invitation(admin, org_id, approval=True)

    joiner_page = new_context().new_page()
    joiner, own_name, own_id = sign_up_with_org(joiner_page, role="joiner")
    joiner_page.goto(f"/#/join/{code}")
    joiner_page.get_by_test_id("join-accept").click()
    expect(joiner_page.get_by_test_id("join-waiting")).to_contain_text(org_name)

    joiner_page.goto(f"/#/org/{own_id}")
    joiner_page.reload()
    expect(joiner_page.get_by_test_id("list-title")).to_have_text(own_name)
    waiting = joiner_page.get_by_test_id("pending-join")
    expect(waiting).to_contain_text(org_name)
    expect(waiting).to_contain_text("Waiting for approval")

    expect(joiner_page.get_by_test_id("connection")).to_have_text("Online")
    admin.get_by_test_id("join-request").filter(has_text=joiner.name).get_by_test_id("join-reject").click()
    declined = joiner_page.get_by_test_id("declined-join")
    expect(declined).to_contain_text(org_name)
    expect(declined).to_contain_text("declined")
    expect(waiting).to_have_count(0)
    declined.get_by_test_id("declined-dismiss").click()
    expect(joiner_page.get_by_test_id("own-requests")).to_have_count(0)
    expect(joiner_page.get_by_test_id("org-switcher")).not_to_contain_text(org_name)
