"""A live class's chat beside the video, in two browsers: a student posts a comment and a question;
the teacher sees both as they come and marks the question answered; the student sees it answered;
the questions filter shows questions alone; likes tapped on both pages add up on both; a comment
with markup and a script is shown as text and runs nothing."""

from playwright.sync_api import expect

from conftest import api, join_org, member_id, sign_up_with_org


def test_chat_questions_and_likes_beside_the_video(page, new_context):
    _, _, org_id = sign_up_with_org(page, kind="school")
    teacher, teacher_page = join_org(new_context, page.context, org_id)
    student, student_page = join_org(new_context, page.context, org_id)
    made = api(page.context, "PATCH", f"/api/v1/orgs/{org_id}/members/{member_id(page.context, org_id, teacher.name)}",
               {"capabilities": ["teacher"]})
    assert made.ok, made.text()
    group = api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/conversations",
                {"name": "Class 7A", "memberIds": [member_id(teacher_page.context, org_id, student.name)]})
    assert group.ok, group.text()
    created = api(teacher_page.context, "POST", f"/api/v1/orgs/{org_id}/live",
                  {"title": "Maths", "groupIds": [group.json()["id"]], "startNow": True})
    assert created.ok, created.text()
    class_path = f"/#/org/{org_id}/live/{created.json()['id']}"
    for p in (teacher_page, student_page):
        p.goto(class_path)
        expect(p.get_by_test_id("live-class-title")).to_have_text("Maths")
        expect(p.get_by_test_id("live-side")).to_be_visible()
        expect(p.get_by_test_id("live-comments-empty")).to_be_visible()

    # The student comments (Enter sends) and asks a question.
    text = student_page.get_by_test_id("live-compose-text")
    text.fill("Hello, class")
    text.press("Enter")
    expect(text).to_have_value("")
    student_page.get_by_test_id("live-question-toggle").click()
    expect(student_page.get_by_test_id("live-question-toggle")).to_have_attribute("aria-pressed", "true")
    text.fill("What is 7 × 8?")
    text.press("Enter")
    mine = student_page.get_by_test_id("live-comment")
    expect(mine).to_have_count(2)
    expect(mine.nth(1)).to_have_attribute("data-kind", "question")
    expect(student_page.get_by_test_id("live-mark-answered")).to_have_count(0)

    # The teacher sees both as they come, and marks the question answered.
    seen = teacher_page.get_by_test_id("live-comment")
    expect(seen).to_have_count(2)
    expect(seen.nth(0).get_by_test_id("live-comment-text")).to_have_text("Hello, class")
    expect(seen.nth(0).get_by_test_id("live-comment-author")).to_have_text(student.name)
    question = seen.filter(has_text="What is 7 × 8?")
    expect(question).to_have_attribute("data-answered", "false")
    question.get_by_test_id("live-mark-answered").click()
    expect(question).to_have_attribute("data-answered", "true")

    # The student sees it answered.
    answered = student_page.get_by_test_id("live-comment").filter(has_text="What is 7 × 8?")
    expect(answered).to_have_attribute("data-answered", "true")
    expect(answered.get_by_test_id("live-answered")).to_be_visible()

    # Questions alone.
    teacher_page.get_by_test_id("live-filter-questions").click()
    expect(teacher_page.get_by_test_id("live-comment")).to_have_count(1)
    teacher_page.get_by_test_id("live-filter-all").click()
    expect(teacher_page.get_by_test_id("live-comment")).to_have_count(2)

    # Likes tapped on both pages add up on both.
    for _ in range(3):
        student_page.get_by_test_id("live-like").click()
    for _ in range(2):
        teacher_page.get_by_test_id("live-like").click()
    for p in (teacher_page, student_page):
        expect(p.get_by_test_id("live-like-count")).to_have_text("5")

    # Markup and scripts are text.
    hostile = "<script>window.pwned = 1</script><b>bold</b><img src=x onerror=\"window.pwned = 2\">"
    text.fill(hostile)
    text.press("Enter")
    for p in (teacher_page, student_page):
        shown = p.get_by_test_id("live-comment").filter(has_text="window.pwned = 1")
        expect(shown.get_by_test_id("live-comment-text")).to_have_text(hostile)
        expect(shown.locator("script, b, img")).to_have_count(0)
        assert p.evaluate("window.pwned") is None
