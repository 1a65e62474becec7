"""Scenario 5: CSV import refuses a bad file whole, and a good file adds the members."""

from playwright.sync_api import expect

from conftest import api, member_row, sign_up_with_org, tree_node, unique


def upload(page, name: str, text: str) -> None:
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}])
    page.get_by_test_id("import-submit").click()


def test_bad_file_shows_row_errors_and_good_file_adds_members(new_context):
    context = new_context()
    page = context.new_page()
    owner, _, org_id = sign_up_with_org(page)
    first, second = unique("Ada"), unique("Grace")
    tag = unique("x")

    page.get_by_test_id("nav-import").click()
    upload(page, "bad.csv", "name,email,department\n"
                            f"{first},{tag}-ada@example.test,Staff\n"
                            f",{tag}-nobody@example.test,Staff\n"
                            f"{second},,Staff\n")
    errors = page.get_by_test_id("import-error-row")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("3")
    expect(errors.nth(1)).to_contain_text("4")
    expect(page.get_by_test_id("import-result")).to_have_count(0)
    listed = api(context, "GET", f"/api/v1/orgs/{org_id}/members").json()["items"]
    assert [m["name"] for m in listed] == [owner.name]

    upload(page, "good.csv", "\ufeffname,email,phone,department,title,role\n"
                             f"{first},{tag}-ada@example.test,,Grade 8/Class 2,Student,member\n"
                             f"{second},,+8613800{tag[-6:].encode().hex()[:6]},Grade 8,Teacher,teacher\n")
    expect(page.get_by_test_id("import-result")).to_contain_text("2")
    expect(page.get_by_test_id("import-error-row")).to_have_count(0)

    page.get_by_test_id("nav-directory").click()
    expect(member_row(page, first)).to_be_visible()
    expect(member_row(page, second)).to_be_visible()
    expect(member_row(page, owner.name)).to_be_visible()
    tree_node(page, "Class 2").click()
    expect(member_row(page, first)).to_be_visible()
    expect(member_row(page, second)).to_have_count(0)
