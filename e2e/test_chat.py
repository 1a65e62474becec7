"""Chat (issue 3): 1:1 and group chats between people in separate browser contexts, read receipts,
images, text that looks like HTML, search in Chinese, recall and @mentions."""

import re

from playwright.sync_api import expect

from conftest import (
    conversation_row, create_group, join_org, member_row, open_chat, send_message, sent_message,
    sign_up_with_org, start_direct_chat, unique,
)

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
# A 1×1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def test_direct_chat_read_receipt_turns_all_read(new_context):
    owner_page = new_context().new_page()
    owner, _, org_id = sign_up_with_org(owner_page)
    member, member_page = join_org(new_context, owner_page.context, org_id, **PHONE)

    # The 1:1 chat starts from the member's profile in the directory.
    owner_page.goto(f"/#/org/{org_id}")
    member_row(owner_page, member.name).click()
    owner_page.get_by_test_id("profile-message").click()
    expect(owner_page.get_by_test_id("conversation-title")).to_have_text(member.name)
    text = unique("Hello")
    send_message(owner_page, text)
    receipt = sent_message(owner_page, text).get_by_test_id("receipt")
    expect(receipt).to_have_text("1 unread")

    open_chat(member_page, org_id)
    row = conversation_row(member_page, owner.name)
    expect(row.get_by_test_id("conversation-unread")).to_have_text("1")
    expect(row.get_by_test_id("conversation-preview")).to_have_text(text)
    expect(member_page.get_by_test_id("nav-chat-unread")).to_have_text("1")
    row.click()
    expect(sent_message(member_page, text)).to_be_visible()
    assert member_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    send_button = member_page.get_by_test_id("composer-send").bounding_box()
    assert send_button["x"] + send_button["width"] <= PHONE["viewport"]["width"]

    expect(receipt).to_have_text("All read")
    expect(member_page.get_by_test_id("nav-chat-unread")).to_be_hidden()
    member_page.get_by_test_id("conversation-back").click()
    expect(conversation_row(member_page, owner.name).get_by_test_id("conversation-unread")).to_have_count(0)

    reply = unique("Reply")
    conversation_row(member_page, owner.name).click()
    send_message(member_page, reply)
    expect(sent_message(owner_page, reply)).to_be_visible()
    expect(sent_message(member_page, reply).get_by_test_id("receipt")).to_have_text("All read")


def test_group_readers_list_who_read_and_who_did_not(new_context):
    owner_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(owner_page)
    reader, reader_page = join_org(new_context, owner_page.context, org_id)
    absent, _ = join_org(new_context, owner_page.context, org_id)

    group = unique("Group")
    create_group(owner_page, org_id, group, [reader.name, absent.name])
    text = unique("Agenda")
    send_message(owner_page, text)
    receipt = sent_message(owner_page, text).get_by_test_id("receipt")
    expect(receipt).to_have_text("2 unread")

    open_chat(reader_page, org_id)
    conversation_row(reader_page, group).click()
    expect(sent_message(reader_page, text)).to_be_visible()
    expect(sent_message(reader_page, text).get_by_test_id("message-sender")).to_be_visible()

    expect(receipt).to_have_text("1 unread")
    receipt.click()
    dialog = owner_page.get_by_test_id("readers-dialog")
    expect(dialog.get_by_test_id("readers-read").get_by_test_id("reader")).to_have_text([reader.name])
    expect(dialog.get_by_test_id("readers-unread").get_by_test_id("reader")).to_have_text([absent.name])


def test_image_and_html_looking_text_are_shown_safely(new_context):
    owner_page = new_context().new_page()
    owner, _, org_id = sign_up_with_org(owner_page)
    member, member_page = join_org(new_context, owner_page.context, org_id)
    dialogs = []
    for page in (owner_page, member_page):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    start_direct_chat(owner_page, org_id, member.name)
    hostile = "<script>alert(1)</script> and <img src=x onerror=alert(1)> https://example.test/a?b=1"
    send_message(owner_page, hostile)
    owner_page.get_by_test_id("composer-file").set_input_files({"name": "dot.png", "mimeType": "image/png", "buffer": PNG})
    image = owner_page.get_by_test_id("message-image")
    expect(image).to_be_visible()

    open_chat(member_page, org_id)
    conversation_row(member_page, owner.name).click()
    for page in (owner_page, member_page):
        shown = sent_message(page, "<script>alert(1)</script>")
        expect(shown.get_by_test_id("message-text")).to_have_text(hostile)
        expect(page.locator("#main script")).to_have_count(0)
        expect(page.locator("img[src='x']")).to_have_count(0)
        link = shown.get_by_role("link", name="https://example.test/a?b=1")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        expect(page.get_by_test_id("message-image")).to_be_visible()
        page.wait_for_function("() => document.querySelector('[data-testid=message-image]')?.naturalWidth === 1")
    assert dialogs == []


def test_search_finds_a_chinese_phrase_and_opens_it(new_context):
    owner_page = new_context().new_page()
    owner, _, org_id = sign_up_with_org(owner_page)
    member, member_page = join_org(new_context, owner_page.context, org_id)

    start_direct_chat(owner_page, org_id, member.name)
    send_message(owner_page, "今天下午三点开会")
    send_message(owner_page, unique("later"))

    open_chat(member_page, org_id)
    member_page.get_by_test_id("chat-search").fill("开会")
    result = member_page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(owner.name)
    expect(result.get_by_test_id("search-result-text")).to_have_text("今天下午三点开会")
    expect(result.locator("mark")).to_have_text("开会")
    result.click()
    expect(member_page).to_have_url(re.compile(r"/chat/[^/]+/at/\d+$"))
    expect(sent_message(member_page, "今天下午三点开会")).to_be_in_viewport()


def test_mention_marks_the_conversation_and_recall_reaches_everyone(new_context):
    owner_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(owner_page)
    member, member_page = join_org(new_context, owner_page.context, org_id)
    open_chat(member_page, org_id)

    group = unique("Team")
    create_group(owner_page, org_id, group, [member.name])
    composer = owner_page.get_by_test_id("composer-input")
    composer.press_sequentially("Please look @")
    expect(owner_page.get_by_test_id("mention-option").filter(has_text="@all")).to_have_count(1)
    composer.press_sequentially(member.name[:3])
    owner_page.get_by_test_id("mention-option").filter(has_text=member.name).click()
    composer.press_sequentially("at this")
    composer.press("Enter")
    expect(sent_message(owner_page, f"@{member.name} at this")).to_be_visible()

    row = conversation_row(member_page, group)
    expect(row.get_by_test_id("conversation-mentioned")).to_be_visible()
    mistake = unique("Oops")
    send_message(owner_page, mistake)
    row.click()
    expect(sent_message(member_page, mistake)).to_be_visible()
    expect(conversation_row(member_page, group).get_by_test_id("conversation-mentioned")).to_have_count(0)
    # @all is offered to the group's owner and admins only.
    member_page.get_by_test_id("composer-input").press_sequentially("@")
    expect(member_page.get_by_test_id("mention-option")).not_to_have_count(0)
    expect(member_page.get_by_test_id("mention-option").filter(has_text="@all")).to_have_count(0)

    owner_page.once("dialog", lambda dialog: dialog.accept())
    mine = sent_message(owner_page, mistake)
    mine.get_by_test_id("message-more").click()
    mine.get_by_test_id("message-recall").click()
    expect(owner_page.get_by_test_id("message-recalled")).to_have_text("Message recalled")
    expect(member_page.get_by_test_id("message-recalled")).to_have_text("Message recalled")
    expect(member_page.get_by_text(mistake)).to_have_count(0)
