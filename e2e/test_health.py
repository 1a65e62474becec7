"""The daily health report in the browser: an admin creates one through the UI (window 00:00–24:00,
weekends not skipped, so it is open whenever the test runs); a member on a phone sees the notice
on the home page, reports 36.6 °C (green card) and corrects it to 38.0 °C (yellow by the default
rules: 37.3 °C yellow, 38.5 °C red); the admin's dashboard counts it, the abnormal drill-down names
the member, CSV and XLSX exports carry the member's temperature, the card check accepts the
member's code and refuses a wrong one, and the access log shows the admin's read of the answers.
A guardian reports for a student; a member without management rights sees no management; the
organisation's time zone comes from the browser and is changed in the settings; a reminder reaches
a member who has not reported, at its minute."""

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import expect

from conftest import api, join_org, member_id, sign_up_with_org, unique

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def health_item(page, relation="self"):
    return page.locator(f"[data-testid='health-item'][data-relation='{relation}']")


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= 390")


def report_through_form(item, temperature, *, symptom="None", contact="no"):
    item.get_by_test_id("health-temperature").fill(temperature)
    item.get_by_test_id("health-option").filter(has_text=re.compile(f"^{symptom}$")).check()
    item.get_by_test_id(f"health-{contact}").check()
    item.get_by_test_id("health-submit").click()


def create_report_by_api(context, org_id, **changes):
    """A report like the UI's template, open all day every day (for tests that are not about creating one)."""
    body = {
        "title": unique("Health"),
        "wholeOrganization": True,
        "questions": [
            {"id": "temperature", "kind": "temperature", "title": "Body temperature", "required": True},
            {"id": "symptoms", "kind": "multiple_choice", "title": "Symptoms", "required": True, "options": [
                {"id": "none", "label": "None", "colour": "green"}, {"id": "cough", "label": "Cough", "colour": "yellow"}]},
            {"id": "contact", "kind": "yes_no", "title": "Contact with a confirmed case?", "required": True, "yesColour": "red"},
        ],
        "opensAt": "00:00",
        "closesAt": "24:00",
        "skipWeekends": False,
        **changes,
    }
    created = api(context, "POST", f"/api/v1/orgs/{org_id}/health/reports", body)
    assert created.ok, created.text()
    return created.json()


def test_report_card_dashboard_exports_check_and_access_log(new_context):
    admin_page = new_context().new_page()
    admin, _, org_id = sign_up_with_org(admin_page)
    member, phone = join_org(new_context, admin_page.context, org_id, **PHONE)

    # (a) The admin creates a report from the template: whole organisation, open all day, every day.
    admin_page.goto(f"/#/org/{org_id}/health")
    admin_page.get_by_test_id("health-tab-reports").click()
    expect(admin_page.get_by_test_id("health-reports-status")).to_have_text(re.compile("No reports yet"))
    admin_page.get_by_test_id("health-new").click()
    editor = admin_page.get_by_test_id("health-editor")
    title = unique("Daily health")
    editor.get_by_test_id("health-title").fill(title)
    editor.get_by_test_id("health-audience-org").check()
    expect(editor.get_by_test_id("health-qb-question")).to_have_count(4)
    editor.get_by_test_id("health-opensAt").fill("00:00")
    editor.get_by_test_id("health-closesAt").fill("24:00")
    editor.get_by_test_id("health-skip-weekends").uncheck()
    editor.get_by_test_id("health-save").click()
    dashboard = admin_page.get_by_test_id("health-dashboard")
    expect(dashboard.get_by_test_id("health-total-audience")).to_have_text("2")
    expect(dashboard.get_by_test_id("health-total-reported")).to_have_text("0")

    # (b) The member, on a phone: the notice on the home page leads to today's report.
    phone.goto(f"/#/org/{org_id}")
    notice = phone.get_by_test_id("health-notice")
    expect(notice).to_contain_text(f"{title}: today's report — not reported yet")
    assert fits_the_screen(phone)
    notice.click()
    item = health_item(phone)
    expect(item.get_by_test_id("health-item-title")).to_have_text(title)
    expect(item.get_by_test_id("health-status")).to_contain_text("Not reported yet — open until")
    expect(item.get_by_test_id("health-required")).to_have_count(3)
    temperature = item.get_by_test_id("health-temperature")
    expect(temperature).to_have_attribute("step", "0.1")
    expect(temperature).to_have_attribute("inputmode", "decimal")

    # Required answers missing: said beside them, nothing sent.
    item.get_by_test_id("health-submit").click()
    expect(item.get_by_test_id("health-error").filter(has_text="Please answer this question.")).to_have_count(3)

    # A temperature out of range: the server's problem beside the temperature.
    report_through_form(item, "45")
    temperature_question = item.locator("[data-testid='health-question'][data-kind='temperature']")
    expect(temperature_question.get_by_test_id("health-error")).to_have_text("Enter a body temperature between 34.0 and 43.0 °C.")

    report_through_form(item, "36.6")
    expect(item.get_by_test_id("health-status")).to_contain_text(re.compile(r"Reported at .+ — you can correct it until"))
    card = item.get_by_test_id("health-card")
    expect(card).to_have_attribute("data-colour", "green")
    expect(card.get_by_test_id("health-card-colour")).to_have_text("Green card")
    expect(card.get_by_test_id("health-card-name")).to_have_text(member.name)
    clock = card.get_by_test_id("health-card-clock")
    first = clock.inner_text()
    expect(clock).not_to_have_text(first)
    expect(temperature).to_have_value("36.6")
    assert fits_the_screen(phone)

    # Corrected to 38.0 °C: at or above 37.3 and below 38.5 the card is yellow, 7 normal days from green.
    temperature.fill("38.0")
    item.get_by_test_id("health-submit").click()
    expect(card).to_have_attribute("data-colour", "yellow")
    expect(card.get_by_test_id("health-card-colour")).to_have_text("Yellow card")
    expect(card.get_by_test_id("health-card-days")).to_have_text("7 more normal report days to green")
    code = card.get_by_test_id("health-card-code").inner_text().strip()
    assert code

    # Reported: no notice on the home page any more; the history shows the day.
    phone.goto(f"/#/org/{org_id}")
    expect(phone.get_by_test_id("member-list")).to_be_visible()
    expect(phone.get_by_test_id("health-notice")).to_have_count(0)
    phone.goto(f"/#/org/{org_id}/health")
    health_item(phone).get_by_test_id("health-history-link").click()
    day = phone.get_by_test_id("health-day").first
    expect(day.get_by_test_id("health-day-colour")).to_have_text("Yellow")
    expect(day.get_by_test_id("health-day-temperature")).to_have_text("38.0 °C")

    # (c) The admin's dashboard: 1 reported, 1 abnormal, the member in the abnormal list.
    admin_page.get_by_test_id("health-refresh").click()
    expect(dashboard.get_by_test_id("health-total-reported")).to_have_text("1")
    expect(dashboard.get_by_test_id("health-total-not-reported")).to_have_text("1")
    expect(dashboard.get_by_test_id("health-total-abnormal")).to_have_text("1")
    expect(dashboard.get_by_test_id("health-total-yellow")).to_have_text("1")
    expect(admin_page.get_by_test_id("health-chart")).to_be_visible()
    drill = admin_page.get_by_test_id("health-drill")
    drill.get_by_test_id("health-filter-status").select_option("abnormal")
    row = drill.get_by_test_id("health-member-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("health-member-name")).to_have_text(member.name)
    expect(row.get_by_test_id("health-member-temperature")).to_have_text("38.0 °C")
    expect(row.get_by_test_id("health-answers")).to_have_count(0)

    # (g) Answers on request, and that read is logged.
    drill.get_by_test_id("health-show-answers").check()
    expect(drill.get_by_test_id("health-answers-logged")).to_be_visible()
    expect(row.get_by_test_id("health-answers")).to_contain_text("Contact with a confirmed case")

    # (d) Exports of the same list.
    with admin_page.expect_download() as csv_download:
        drill.get_by_test_id("health-export-csv").click()
    csv_text = open(csv_download.value.path(), encoding="utf-8-sig").read()
    assert member.name in csv_text and "38" in csv_text, csv_text
    with admin_page.expect_download() as xlsx_download:
        drill.get_by_test_id("health-export-xlsx").click()
    with open(xlsx_download.value.path(), "rb") as file:
        workbook = openpyxl.load_workbook(io.BytesIO(file.read()))
    cells = [cell.value for sheet in workbook.worksheets for row_cells in sheet.iter_rows() for cell in row_cells]
    assert member.name in cells, cells
    assert any(value in (38, 38.0, "38.0", "38") for value in cells), cells

    # (e) The card check: the member's code is valid today, a wrong one is not.
    admin_page.get_by_test_id("health-tab-check").click()
    admin_page.get_by_test_id("health-check-code").fill(code)
    admin_page.get_by_test_id("health-check-submit").click()
    result = admin_page.get_by_test_id("health-check-result")
    expect(result).to_have_attribute("data-valid", "true")
    expect(result.get_by_test_id("health-check-name")).to_have_text(member.name)
    expect(result.get_by_test_id("health-check-colour")).to_have_text("Yellow card")
    admin_page.get_by_test_id("health-check-code").fill("WRONG" + code)
    admin_page.get_by_test_id("health-check-submit").click()
    expect(result).to_have_attribute("data-valid", "false")
    expect(result).to_contain_text("Not valid")

    # The member checks on the phone too (anyone in the organisation may).
    phone.goto(f"/#/org/{org_id}/health/check")
    phone.get_by_test_id("health-check-code").fill(code)
    phone.get_by_test_id("health-check-submit").click()
    expect(phone.get_by_test_id("health-check-result")).to_have_attribute("data-valid", "true")
    assert fits_the_screen(phone)

    # (g) The owner's access log: the read of the answers, by the admin, of the member.
    admin_page.get_by_test_id("health-tab-access").click()
    read = admin_page.locator("[data-testid='health-access-entry'][data-action='answers']").first
    expect(read.get_by_test_id("health-access-reader")).to_have_text(admin.name)
    expect(read.get_by_test_id("health-access-subjects")).to_contain_text(member.name)
    expect(admin_page.locator("[data-testid='health-access-entry'][data-action='export']")).to_have_count(2)


def test_a_guardian_reports_for_a_student(new_context):
    admin_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(admin_page, kind="school")
    student, student_page = join_org(new_context, admin_page.context, org_id, role="student")
    parent, parent_page = join_org(new_context, admin_page.context, org_id, role="parent", **PHONE)
    report = create_report_by_api(admin_page.context, org_id, allowGuardians=True)

    # The admin names the parent as the student's guardian on the student's profile.
    admin_page.goto(f"/#/org/{org_id}/member/{member_id(admin_page.context, org_id, student.name)}")
    guardians = admin_page.get_by_test_id("guardians")
    expect(guardians).to_contain_text("None yet.")
    guardians.get_by_test_id("guardian-add").click()
    guardians.get_by_test_id("picker-search").fill(parent.name)
    guardians.get_by_test_id("picker-member").filter(has_text=parent.name).click()
    guardians.get_by_test_id("guardians-save").click()
    expect(guardians.get_by_test_id("guardians-saved")).to_be_visible()
    expect(guardians.get_by_test_id("guardian")).to_have_text([re.compile(re.escape(parent.name))])

    # The student waits on the health page; the parent reports for them on a phone.
    student_page.goto(f"/#/org/{org_id}/health")
    expect(health_item(student_page).get_by_test_id("health-status")).to_contain_text("Not reported yet")
    parent_page.goto(f"/#/org/{org_id}")
    expect(parent_page.get_by_test_id("health-notice").filter(has_text=f"for {student.name}")).to_be_visible()
    parent_page.goto(f"/#/org/{org_id}/health")
    ward = health_item(parent_page, "ward")
    expect(ward).to_have_attribute("data-report-id", report["id"])
    expect(ward.get_by_test_id("health-item-for")).to_have_text(f"For {student.name}")
    report_through_form(ward, "36.5")
    expect(ward.get_by_test_id("health-status")).to_contain_text("Reported at")
    expect(ward.get_by_test_id("health-card").get_by_test_id("health-card-name")).to_have_text(student.name)
    # The parent's own report is still to do.
    expect(health_item(parent_page).get_by_test_id("health-status")).to_contain_text("Not reported yet")
    assert fits_the_screen(parent_page)

    # The student's open page follows live (health.submitted).
    expect(health_item(student_page).get_by_test_id("health-status")).to_contain_text("Reported at")
    expect(health_item(student_page).get_by_test_id("health-temperature")).to_have_value("36.5")

    # The history of the student names who reported.
    ward.get_by_test_id("health-history-link").click()
    expect(parent_page.get_by_test_id("health-history-name")).to_have_text(student.name)
    expect(parent_page.get_by_test_id("health-day").first).to_contain_text(f"by {parent.name}")


def test_a_member_without_rights_sees_no_management(new_context):
    admin_page = new_context(timezone_id="Asia/Shanghai").new_page()
    _, _, org_id = sign_up_with_org(admin_page)
    org = api(admin_page.context, "GET", f"/api/v1/orgs/{org_id}")
    assert org.ok, org.text()
    assert org.json()["timeZone"] == "Asia/Shanghai"
    report = create_report_by_api(admin_page.context, org_id)
    _, page = join_org(new_context, admin_page.context, org_id, locale="zh-CN", **PHONE)

    page.goto(f"/#/org/{org_id}/health")
    expect(page.get_by_test_id("nav-health")).to_have_text("健康")
    expect(health_item(page).get_by_test_id("health-status")).to_contain_text("尚未上报")
    expect(page.get_by_test_id("health-tab-today")).to_be_visible()
    expect(page.get_by_test_id("health-tab-check")).to_be_visible()
    expect(page.get_by_test_id("health-tab-reports")).to_have_count(0)
    expect(page.get_by_test_id("health-tab-access")).to_have_count(0)
    expect(page.get_by_test_id("health-edit")).to_have_count(0)
    assert fits_the_screen(page)
    for path in ("reports", "reports/new", f"reports/{report['id']}", f"reports/{report['id']}/edit", "access-log"):
        page.goto(f"/#/org/{org_id}/health/{path}")
        expect(page.get_by_test_id("not-found")).to_be_visible()
        expect(page.get_by_test_id("health-dashboard")).to_have_count(0)
        expect(page.get_by_test_id("health-drill")).to_have_count(0)

    # The owner moves the organisation to another time zone; new reports show it.
    admin_page.goto(f"/#/org/{org_id}/settings")
    admin_page.get_by_test_id("org-time-zone").select_option("Europe/Berlin")
    admin_page.get_by_test_id("org-settings-submit").click()
    expect(admin_page.get_by_test_id("settings-saved")).to_be_visible()
    assert api(admin_page.context, "GET", f"/api/v1/orgs/{org_id}").json()["timeZone"] == "Europe/Berlin"
    admin_page.goto(f"/#/org/{org_id}/health/reports/new")
    expect(admin_page.get_by_test_id("health-timezone")).to_contain_text("Europe/Berlin")


def test_a_reminder_reaches_whoever_has_not_reported(new_context):
    admin_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(admin_page)
    _, phone = join_org(new_context, admin_page.context, org_id, **PHONE)
    zone = api(admin_page.context, "GET", f"/api/v1/orgs/{org_id}").json()["timeZone"]
    now = datetime.now(ZoneInfo(zone))
    # The next whole minute, or the one after if this one is nearly over (the report must exist first).
    at = (now + timedelta(minutes=1 if now.second < 40 else 2)).strftime("%H:%M")
    if at == "00:00" or at < now.strftime("%H:%M"):
        pytest.skip("too close to midnight in the organisation's time zone")
    report = create_report_by_api(admin_page.context, org_id, reminders=[{"at": at, "channel": "app"}])

    phone.goto(f"/#/org/{org_id}/chat")
    expect(phone.get_by_test_id("connection")).to_have_attribute("data-state", "online")
    reminder = phone.get_by_test_id("health-reminder")
    expect(reminder).to_have_attribute("data-report-id", report["id"], timeout=150_000)
    expect(reminder.get_by_test_id("health-reminder-text")).to_have_text(f"Reminder: you have not made today's report “{report['title']}” yet.")
    assert fits_the_screen(phone)
    reminder.get_by_test_id("health-reminder-open").click()
    expect(phone.get_by_test_id("health-today-page")).to_be_visible()
    expect(reminder).to_have_count(0)
