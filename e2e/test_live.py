"""Live classes in the browser on a server without a media server (video: e2e/media/test_live_media.py):
a teacher starts a class from a group for two groups at once; a student of each group follows the
notice in their group to the class page, which says there is no media server and how to turn one
on; a student raises a hand and the teacher lets them speak; pausing lowers every hand and stops new ones; a removed student's page says so; the teacher sees who watched (nobody yet) and downloads it as
CSV and XLSX (read back with openpyxl); ending the class ends it for everyone. A title with markup is shown as text."""

import io
import re

import openpyxl
from playwright.sync_api import expect

from conftest import api, join_org, member_id, sign_up_with_org


def make_teacher(owner_context, org_id, name):
    member = member_id(owner_context, org_id, name)
    made = api(owner_context, "PATCH", f"/api/v1/orgs/{org_id}/members/{member}", {"capabilities": ["teacher"]})
    assert made.ok, made.text()


def test_teacher_runs_a_class_for_two_groups(page, new_context):
    _, _, org_id = sign_up_with_org(page, kind="school")
    teacher, teacher_page = join_org(new_context, page.context, org_id)
    student_a, a_page = join_org(new_context, page.context, org_id)
    student_b, b_page = join_org(new_context, page.context, org_id)
    make_teacher(page.context, org_id, teacher.name)
    groups = {}
    for name, student in [("Class 7A", student_a), ("Class 7B", student_b)]:
        created = api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/conversations",
                      {"name": name, "memberIds": [member_id(teacher_page.context, org_id, student.name)]})
        assert created.ok, created.text()
        groups[name] = created.json()["id"]
    teacher_page.reload()  # the teacher capability and the groups

    # The teacher starts a class from 7A's chat, for 7A and 7B.
    teacher_page.goto(f"/#/org/{org_id}/chat/{groups['Class 7A']}")
    expect(teacher_page.get_by_test_id("conversation-title")).to_have_text("Class 7A")
    teacher_page.get_by_test_id("conversation-live").click()
    expect(teacher_page.get_by_test_id("live-list-page")).to_be_visible()
    create = teacher_page.get_by_test_id("live-create")
    create.get_by_test_id("live-title").fill("Maths <b>fractions</b>")
    expect(create.locator(f"input[value='{groups['Class 7A']}']")).to_be_checked()
    create.get_by_label("Class 7B").check()
    create.get_by_test_id("live-create-submit").click()
    expect(teacher_page.get_by_test_id("live-class-title")).to_have_text("Maths <b>fractions</b>")
    expect(teacher_page.get_by_test_id("live-class-title").locator("b")).to_have_count(0)
    expect(teacher_page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    expect(teacher_page.get_by_test_id("live-no-media")).to_contain_text("TACK_JANUS_DIR")
    expect(teacher_page.get_by_test_id("live-no-media")).to_contain_text("scripts/janus serve")
    expect(teacher_page.get_by_test_id("live-go-on-air")).to_have_count(0)

    # A student of each group follows the notice in their group.
    for student_page, group in [(a_page, "Class 7A"), (b_page, "Class 7B")]:
        student_page.goto(f"/#/org/{org_id}/chat/{groups[group]}")
        notice = student_page.get_by_test_id("message-live-link")
        expect(notice).to_contain_text("is live now")
        notice.click()
        expect(student_page.get_by_test_id("live-class-title")).to_have_text("Maths <b>fractions</b>")
        expect(student_page.get_by_test_id("live-no-media")).to_contain_text("no media server")
        expect(student_page.get_by_test_id("live-controls")).to_have_count(0)
        expect(student_page.get_by_test_id("live-stats")).to_have_count(0)

    # 7A's student raises a hand; the teacher sees it and lets them speak.
    a_page.get_by_test_id("live-raise-hand").click()
    expect(a_page.get_by_test_id("live-lower-hand")).to_have_text("Lower my hand")
    hand = teacher_page.get_by_test_id("live-hand").filter(has_text=student_a.name)
    expect(hand).to_have_attribute("data-state", "raised")
    hand.get_by_test_id("live-let-speak").click()
    expect(hand).to_have_attribute("data-state", "speaking")
    expect(a_page.get_by_test_id("live-lower-hand")).to_have_text("Stop speaking")

    # Pausing lowers every hand; nobody raises one until the teacher resumes.
    teacher_page.get_by_test_id("live-pause").click()
    expect(teacher_page.get_by_test_id("live-paused")).to_be_visible()
    expect(teacher_page.get_by_test_id("live-hand")).to_have_count(0)
    expect(b_page.get_by_test_id("live-paused")).to_be_visible()
    expect(b_page.get_by_test_id("live-raise-hand")).to_be_disabled()
    teacher_page.get_by_test_id("live-pause").click()
    expect(b_page.get_by_test_id("live-raise-hand")).to_be_enabled()

    # 7B's student raises a hand and is removed: their page says so and offers nothing more.
    b_page.get_by_test_id("live-raise-hand").click()
    teacher_page.get_by_test_id("live-hand").filter(has_text=student_b.name).get_by_test_id("live-remove").click()
    expect(teacher_page.get_by_test_id("live-hand")).to_have_count(0)
    expect(b_page.get_by_test_id("live-removed")).to_be_visible()
    expect(b_page.get_by_test_id("live-raise-hand")).to_have_count(0)
    expect(b_page.get_by_test_id("live-lower-hand")).to_have_count(0)

    # Who watched: both students, nobody yet (no video); as CSV too.
    stats = teacher_page.get_by_test_id("live-stats")
    expect(stats.get_by_test_id("live-stats-row")).to_have_count(2)
    for student in (student_a, student_b):
        row = stats.get_by_test_id("live-stats-row").filter(has_text=student.name)
        expect(row.get_by_test_id("live-stats-watched")).to_have_attribute("data-watched", "neither")
    with teacher_page.expect_download() as download:
        stats.get_by_test_id("live-stats-csv").click()
    csv = open(download.value.path(), encoding="utf-8-sig").read()
    assert student_a.name in csv and student_b.name in csv, csv
    assert csv.splitlines()[0].startswith("Name,Watched"), csv
    assert download.value.suggested_filename.endswith(".csv"), download.value.suggested_filename
    with teacher_page.expect_download() as download:
        stats.get_by_test_id("live-stats-xlsx").click()
    sheet = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Name", "Watched"), rows
    assert {r[0] for r in rows[1:]} == {student_a.name, student_b.name}, rows
    assert all(r[1] == "neither" and r[4] == 0 for r in rows[1:]), rows

    # The end, for everyone.
    teacher_page.get_by_test_id("live-end").click()
    expect(teacher_page.get_by_test_id("live-state")).to_have_attribute("data-state", "ended")
    expect(a_page.get_by_test_id("live-state")).to_have_attribute("data-state", "ended")
    expect(a_page.get_by_test_id("live-raise-hand")).to_have_count(0)

    # The group's list shows it.
    b_page.goto(f"/#/org/{org_id}/chat/{groups['Class 7B']}/live")
    item = b_page.get_by_test_id("live-item")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("live-state")).to_have_attribute("data-state", "ended")
    expect(b_page.get_by_test_id("live-create")).to_have_count(0)
    assert re.search(r"#/org/[^/]+/chat/[^/]+/live$", b_page.url)
