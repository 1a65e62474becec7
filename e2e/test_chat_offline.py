"""Chat (issue 3): after being offline, a conversation shows exactly the messages missed, once
each and in order; a send that failed offline is retried (with its client key) and stored once."""

import uuid

from playwright.sync_api import expect

from conftest import api, conversation_row, join_org, open_chat, send_message, sign_up_with_org, start_direct_chat, unique

OFFLINE = "Offline — reconnecting…"


def test_offline_receiver_catches_up_exactly(new_context):
    owner_page = new_context().new_page()
    owner, _, org_id = sign_up_with_org(owner_page)
    member, member_page = join_org(new_context, owner_page.context, org_id)

    start_direct_chat(owner_page, org_id, member.name)
    first = unique("Before")
    send_message(owner_page, first)
    open_chat(member_page, org_id)
    conversation_row(member_page, owner.name).click()
    texts = member_page.get_by_test_id("message-text")
    expect(texts).to_have_text([first])

    connection = member_page.get_by_test_id("connection")
    member_page.context.set_offline(True)
    expect(connection).to_have_text(OFFLINE)
    missed = [unique(f"Missed-{n}") for n in range(1, 4)]
    for text in missed:
        send_message(owner_page, text)
    expect(texts).to_have_text([first])

    member_page.context.set_offline(False)
    expect(connection).to_have_text("Online")
    expect(texts).to_have_text([first, *missed])
    expect(member_page.get_by_test_id("message-pending")).to_have_count(0)


def test_a_failed_send_is_retried_and_stored_once(new_context):
    owner_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(owner_page)
    member, _ = join_org(new_context, owner_page.context, org_id)
    start_direct_chat(owner_page, org_id, member.name)
    conversation_id = owner_page.url.rsplit("/", 1)[1]

    # Offline, the send fails after its retries and is offered again with the same key.
    owner_page.context.set_offline(True)
    text = unique("Once")
    composer = owner_page.get_by_test_id("composer-input")
    composer.fill(text)
    composer.press("Enter")
    expect(owner_page.get_by_test_id("message-sending")).to_be_visible()
    retry = owner_page.get_by_test_id("message-retry")
    expect(retry).to_be_visible()
    owner_page.context.set_offline(False)
    retry.click()
    expect(owner_page.get_by_test_id("message-text")).to_have_text([text])
    expect(owner_page.get_by_test_id("message-pending")).to_have_count(0)

    page = api(owner_page.context, "GET", f"/api/v1/orgs/{org_id}/conversations/{conversation_id}/messages").json()
    assert [m.get("text") for m in page["items"] if m["kind"] == "text"] == [text]
    assert uuid.UUID(page["items"][-1]["clientKey"])
