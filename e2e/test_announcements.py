"""Announcements between people in separate browser contexts: an admin publishes one with
"confirm you have read" to a department (and so its sub-department); its members see it arrive,
open and confirm it while the admin's statistics follow live; "DING the unconfirmed" reaches
exactly the one who has not confirmed; a body with scripts renders inert."""

import re

from playwright.sync_api import expect

from conftest import api, join_org, member_id, sign_up_with_org, unique


def department(context, org_id, name, parent=None):
    if parent is None:
        root = api(context, "GET", f"/api/v1/orgs/{org_id}/departments").json()["items"]
        parent = next(d["id"] for d in root if d.get("parentId") is None)
    created = api(context, "POST", f"/api/v1/orgs/{org_id}/departments", {"name": name, "parentId": parent})
    assert created.ok, created.text()
    return created.json()["id"]


def place(context, org_id, person, department_id):
    moved = api(context, "PATCH", f"/api/v1/orgs/{org_id}/members/{member_id(context, org_id, person.name)}",
                {"departmentIds": [department_id]})
    assert moved.ok, moved.text()


def open_announcements(page, org_id):
    page.goto(f"/#/org/{org_id}/announcements")
    expect(page.get_by_test_id("ann-page")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online")


def names(list_locator):
    return list_locator.get_by_test_id("ann-person-name")


def test_an_announcement_with_confirmation(new_context):
    ann_page = new_context().new_page()
    ann, _, org_id = sign_up_with_org(ann_page)
    bob, bob_page = join_org(new_context, ann_page.context, org_id)
    cat, cat_page = join_org(new_context, ann_page.context, org_id)
    dan, dan_page = join_org(new_context, ann_page.context, org_id)
    sales_name = unique("Sales")
    sales = department(ann_page.context, org_id, sales_name)
    east = department(ann_page.context, org_id, "East", parent=sales)
    place(ann_page.context, org_id, bob, sales)
    place(ann_page.context, org_id, cat, east)
    for page in (bob_page, cat_page, dan_page):
        open_announcements(page, org_id)
        expect(page.get_by_test_id("ann-status")).to_have_text("No announcements yet.")
        expect(page.get_by_test_id("ann-new")).to_have_count(0)
        expect(page.get_by_test_id("ann-tab-manage")).to_have_count(0)

    # Ann writes it: a title, text with a bold part, to Sales (East is below it), to be confirmed.
    open_announcements(ann_page, org_id)
    ann_page.get_by_test_id("ann-new").click()
    form = ann_page.get_by_test_id("ann-form")
    title = unique("Fire drill")
    form.get_by_test_id("ann-title").fill(title)
    editor = form.get_by_test_id("ann-editor")
    editor.click()
    ann_page.keyboard.type("Meet in the yard at ")
    form.get_by_test_id("ann-tool-bold").click()
    ann_page.keyboard.type("10:00")
    form.get_by_test_id("ann-tool-bold").click()
    ann_page.keyboard.type(" sharp.")
    # Nothing chosen yet: said next to the form.
    form.get_by_test_id("ann-publish").click()
    expect(ann_page.get_by_test_id("form-error")).to_have_text("Choose at least one department, or the whole organisation.")
    tree = form.get_by_test_id("ann-departments")
    expect(tree.get_by_label("East", exact=True)).to_be_visible()
    tree.get_by_label(sales_name, exact=True).check()
    form.get_by_test_id("ann-require-confirmation").check()
    form.get_by_test_id("ann-publish").click()

    # Ann lands on its statistics: nobody has read it yet.
    stats = ann_page.get_by_test_id("ann-stats")
    expect(stats.get_by_test_id("ann-stats-title")).to_have_text(title)
    expect(stats.get_by_test_id("ann-stat-read")).to_have_text("0/2")
    expect(stats.get_by_test_id("ann-stat-confirmed")).to_have_text("0/2")
    expect(names(stats.get_by_test_id("ann-unread"))).to_have_text(sorted([bob.name, cat.name]))

    # Bob and Cat see it arrive, unread; Dan (not in Sales) does not.
    for page in (bob_page, cat_page):
        row = page.get_by_test_id("ann-row").filter(has_text=title)
        expect(row).to_have_attribute("data-unread", "true")
        expect(row.get_by_test_id("ann-row-state")).to_have_text("To confirm")
        expect(page.get_by_test_id("nav-announcements-unread")).to_have_text("1")
    expect(dan_page.get_by_test_id("ann-row")).to_have_count(0)
    expect(dan_page.get_by_test_id("nav-announcements-unread")).to_be_hidden()

    # Bob opens it: read. Ann's counts and lists follow.
    bob_page.get_by_test_id("ann-row").filter(has_text=title).click()
    detail = bob_page.get_by_test_id("ann-detail")
    expect(detail.get_by_test_id("ann-detail-title")).to_have_text(title)
    expect(detail.get_by_test_id("ann-body")).to_have_text("Meet in the yard at 10:00 sharp.")
    expect(detail.get_by_test_id("ann-body").locator("b, strong")).to_have_text("10:00")
    expect(bob_page.get_by_test_id("nav-announcements-unread")).to_be_hidden()
    expect(bob_page.get_by_test_id("ann-row").filter(has_text=title)).to_have_attribute("data-unread", "false")
    expect(stats.get_by_test_id("ann-stat-read")).to_have_text("1/2")
    expect(names(stats.get_by_test_id("ann-read-only"))).to_have_text([bob.name])
    expect(names(stats.get_by_test_id("ann-unread"))).to_have_text([cat.name])

    # Bob confirms.
    detail.get_by_test_id("ann-confirm").click()
    expect(detail.get_by_test_id("ann-confirmed-mark")).to_contain_text("You confirmed reading this")
    expect(bob_page.get_by_test_id("ann-row").filter(has_text=title).get_by_test_id("ann-row-state")).to_have_text("Confirmed")
    expect(stats.get_by_test_id("ann-stat-confirmed")).to_have_text("1/2")
    expect(names(stats.get_by_test_id("ann-confirmed"))).to_have_text([bob.name])
    expect(stats.get_by_test_id("ann-read-only-count")).to_have_text("0")

    # The manage list beside the statistics shows the counts too.
    expect(ann_page.get_by_test_id("ann-manage-row").filter(has_text=title).get_by_test_id("ann-row-stats")).to_have_text("1/2 read · 1/2 confirmed")

    # DING the unconfirmed: exactly Cat.
    ding = stats.get_by_test_id("ann-ding")
    expect(ding).to_have_text("DING the 1 unconfirmed")
    ding.click()
    expect(stats.get_by_test_id("ann-ding-status")).to_contain_text("DING sent to 1.")
    banner = cat_page.get_by_test_id("ding-banner")
    expect(banner).to_have_count(1)
    expect(banner.get_by_test_id("ding-banner-text")).to_have_text(f"Announcement: {title}")
    expect(banner.get_by_test_id("ding-banner-sender")).to_have_text(ann.name)
    ding_id = re.search(r"/ding/sent/([^/]+)$", stats.get_by_test_id("ann-ding-link").get_attribute("href")).group(1)
    sent = api(ann_page.context, "GET", f"/api/v1/orgs/{org_id}/dings/{ding_id}").json()
    assert [r["person"]["name"] for r in sent["recipients"]] == [cat.name]
    for page in (bob_page, dan_page):
        expect(page.get_by_test_id("ding-banner")).to_have_count(0)

    # Cat opens the announcement from the DING and confirms it; Ann's statistics are complete,
    # nobody is left to DING.
    banner.get_by_test_id("ding-banner-announcement").click()
    cat_page.get_by_test_id("ann-detail").get_by_test_id("ann-confirm").click()
    expect(cat_page.get_by_test_id("ann-detail").get_by_test_id("ann-confirmed-mark")).to_be_visible()
    expect(stats.get_by_test_id("ann-stat-confirmed")).to_have_text("2/2")
    expect(names(stats.get_by_test_id("ann-confirmed"))).to_have_text(sorted([bob.name, cat.name]))
    expect(stats.get_by_test_id("ann-ding")).to_be_disabled()


def test_a_body_with_scripts_renders_inert(new_context):
    ann_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(ann_page)
    _, bob_page = join_org(new_context, ann_page.context, org_id)
    title = unique("Notice")
    body = ('<p>Safe <b>text</b></p><script>window.pwned = "script"</script>'
            '<img src="/nope.png" onerror="window.pwned = \'img\'"><p onclick="window.pwned = \'click\'">Click me</p>'
            '<a href="javascript:window.pwned = \'link\'">a link</a><svg onload="window.pwned = \'svg\'"></svg>')
    created = api(ann_page.context, "POST", f"/api/v1/orgs/{org_id}/announcements",
                  {"title": title, "body": body, "wholeOrganization": True})
    assert created.ok, created.text()
    stored = created.json()["body"]
    assert "script" not in stored and "onerror" not in stored and "javascript:" not in stored and "<img" not in stored

    def check(page):
        shown = page.get_by_test_id("ann-body")
        expect(shown).to_contain_text("Safe text")
        expect(shown.locator("script, img, svg, iframe, [onclick], [onerror], [onload], [style]")).to_have_count(0)
        expect(shown.locator("a")).not_to_have_attribute("href", re.compile("javascript", re.I))
        shown.get_by_text("Click me").click()
        shown.get_by_text("a link").click()
        assert page.evaluate("window.pwned") is None

    open_announcements(bob_page, org_id)
    bob_page.get_by_test_id("ann-row").filter(has_text=title).click()
    check(bob_page)

    # Defence in depth: even a body that reached the browser unsanitised is rebuilt inert.
    announcement_id = created.json()["id"]

    def unsanitised(route):
        response = route.fetch()
        data = response.json()
        data["body"] = body
        route.fulfill(response=response, json=data)

    bob_page.route(re.compile(rf".*/announcements/{announcement_id}$"), unsanitised)
    bob_page.goto(f"/#/org/{org_id}/announcements")
    bob_page.get_by_test_id("ann-row").filter(has_text=title).click()
    check(bob_page)
