"""DING (urgent reminders) between people in separate browser contexts: from a message's unread
list, from the DING page with Remind again, the banner in every tab and on a phone, SMS and calls
shown unavailable without a gateway, and the admins' escalation policy."""

import re

from playwright.sync_api import expect

from conftest import (
    api, conversation_row, create_group, join_org, member_id, open_chat, pick_member, send_message, sent_message,
    sign_up_with_org, unique,
)

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


def providers(context, org_id):
    """The delivery providers as the server reports them: channel → reason (None: available)."""
    policy = api(context, "GET", f"/api/v1/orgs/{org_id}/ding-policy")
    assert policy.ok, policy.text()
    return {p["channel"]: (None if p["available"] else p["reason"]) for p in policy.json()["providers"]}


def open_sent(page, org_id, text):
    """The sender's DING page, Sent tab, with the DING whose text is `text` opened."""
    page.goto(f"/#/org/{org_id}/ding/sent")
    row = page.get_by_test_id("ding-sent").filter(has_text=text)
    row.click()
    expect(page.get_by_test_id("ding-detail-text")).to_have_text(text)
    return row


def test_ding_the_unread_from_the_readers_dialog(new_context):
    ann_page = new_context().new_page()
    ann, _, org_id = sign_up_with_org(ann_page)
    bob, bob_page = join_org(new_context, ann_page.context, org_id)
    cat, cat_page = join_org(new_context, ann_page.context, org_id)
    # Cat has the app open in two tabs, neither on the chat.
    cat_page.goto(f"/#/org/{org_id}")
    cat_other_tab = cat_page.context.new_page()
    cat_other_tab.goto(f"/#/org/{org_id}/chat")
    for page in (cat_page, cat_other_tab):
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "online")

    group = unique("Group")
    create_group(ann_page, org_id, group, [bob.name, cat.name])
    text = unique("Fire drill at three")
    send_message(ann_page, text)
    receipt = sent_message(ann_page, text).get_by_test_id("receipt")
    expect(receipt).to_have_text("2 unread")

    open_chat(bob_page, org_id)
    conversation_row(bob_page, group).click()
    expect(sent_message(bob_page, text)).to_be_visible()
    expect(receipt).to_have_text("1 unread")

    receipt.click()
    dialog = ann_page.get_by_test_id("readers-dialog")
    expect(dialog.get_by_test_id("readers-unread").get_by_test_id("reader")).to_have_text([cat.name])
    ding_button = dialog.get_by_test_id("readers-ding")
    expect(ding_button).to_have_text("DING the 1 who have not read this")
    ding_button.click()
    expect(dialog.get_by_test_id("readers-ding-done")).to_have_text("DING sent to 1.")

    # Cat sees the banner at once, with Ann's message as its text, in both tabs.
    for page in (cat_page, cat_other_tab):
        banner = page.get_by_test_id("ding-banner")
        expect(banner).to_have_count(1)
        expect(banner.get_by_test_id("ding-banner-sender")).to_have_text(ann.name)
        expect(banner.get_by_test_id("ding-banner-text")).to_have_text(text)
    expect(cat_page.get_by_test_id("nav-ding-unconfirmed")).to_have_text("1")
    expect(bob_page.get_by_test_id("ding-banner")).to_have_count(0)

    # Ann follows it on her DING page while Cat confirms.
    dialog.get_by_test_id("dialog-close").click()
    ann_page.get_by_test_id("nav-ding").click()
    ann_page.get_by_test_id("ding-tab-sent").click()
    row = ann_page.get_by_test_id("ding-sent").filter(has_text=text)
    expect(row.get_by_test_id("ding-sent-count")).to_have_text("0/1 confirmed")
    row.click()
    unconfirmed = ann_page.get_by_test_id("ding-unconfirmed")
    expect(unconfirmed.get_by_test_id("ding-recipient-name")).to_have_text([cat.name])
    expect(unconfirmed.get_by_test_id("ding-attempt")).to_have_text(["In-app · delivered"])

    cat_page.get_by_test_id("ding-banner").get_by_test_id("ding-banner-confirm").click()
    for page in (cat_page, cat_other_tab):
        expect(page.get_by_test_id("ding-banner")).to_have_count(0)
    expect(cat_page.get_by_test_id("nav-ding-unconfirmed")).to_be_hidden()

    expect(ann_page.get_by_test_id("ding-detail-count")).to_have_text("1/1 confirmed")
    expect(ann_page.get_by_test_id("ding-confirmed").get_by_test_id("ding-recipient-name")).to_have_text([cat.name])
    expect(unconfirmed.get_by_test_id("ding-recipient")).to_have_count(0)
    expect(row.get_by_test_id("ding-sent-count")).to_have_text("1/1 confirmed")
    # No reminder for a DING everyone confirmed.
    expect(ann_page.get_by_test_id("ding-remind")).to_have_count(0)

    # The banner does not come back on reload; Cat's received list says Confirmed.
    cat_page.goto(f"/#/org/{org_id}/ding")
    received = cat_page.get_by_test_id("ding-received").filter(has_text=text)
    expect(received.get_by_test_id("ding-confirmed-mark")).to_have_text("Confirmed")
    expect(cat_page.get_by_test_id("ding-banner")).to_have_count(0)


def test_new_ding_to_two_one_confirms_then_remind_again(new_context):
    ann_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(ann_page)
    bob, bob_page = join_org(new_context, ann_page.context, org_id)
    cat, _ = join_org(new_context, ann_page.context, org_id)

    ann_page.goto(f"/#/org/{org_id}/ding")
    ann_page.get_by_test_id("ding-new").click()
    form = ann_page.get_by_test_id("ding-form")
    # Nobody chosen: said next to the form.
    form.get_by_test_id("ding-send").click()
    expect(form.get_by_test_id("form-error")).to_have_text("Choose at least one recipient.")
    pick_member(ann_page, bob.name).get_by_role("checkbox").check()
    pick_member(ann_page, cat.name).get_by_role("checkbox").check()
    # No text: the server's reason is shown next to the form.
    form.get_by_test_id("ding-send").click()
    expect(form.get_by_test_id("form-error")).to_have_text("Say what the DING is about.")
    text = unique("Quarterly report due")
    form.get_by_test_id("ding-text").fill(text)
    form.get_by_test_id("ding-send").click()

    # Sent: its page opens with both still to confirm.
    expect(ann_page.get_by_test_id("ding-detail-text")).to_have_text(text)
    expect(ann_page.get_by_test_id("ding-detail-count")).to_have_text("0/2 confirmed")
    unconfirmed = ann_page.get_by_test_id("ding-unconfirmed")
    expect(unconfirmed.get_by_test_id("ding-recipient")).to_have_count(2)
    for name in (bob.name, cat.name):
        expect(unconfirmed.get_by_test_id("ding-recipient-name").filter(has_text=name)).to_be_visible()

    # Bob confirms from his DING page.
    bob_page.goto(f"/#/org/{org_id}/ding")
    expect(bob_page.get_by_test_id("ding-banner")).to_have_count(1)
    received = bob_page.get_by_test_id("ding-received").filter(has_text=text)
    received.get_by_test_id("ding-confirm").click()
    expect(received.get_by_test_id("ding-confirmed-mark")).to_have_text("Confirmed")
    expect(bob_page.get_by_test_id("ding-banner")).to_have_count(0)

    expect(ann_page.get_by_test_id("ding-detail-count")).to_have_text("1/2 confirmed")
    expect(ann_page.get_by_test_id("ding-confirmed").get_by_test_id("ding-recipient-name")).to_have_text([bob.name])
    expect(unconfirmed.get_by_test_id("ding-recipient-name")).to_have_text([cat.name])
    expect(ann_page.get_by_test_id("ding-sent").filter(has_text=text).get_by_test_id("ding-sent-count")).to_have_text("1/2 confirmed")

    # Remind again: the first reminder goes at once; the next only 5 minutes later, and the button
    # says how long is left (the server agrees: 429 with Retry-After).
    remind = ann_page.get_by_test_id("ding-remind")
    remind.click()
    expect(ann_page.get_by_test_id("ding-remind-status")).to_have_text(re.compile(r"^Reminded at "))
    expect(remind).to_be_disabled()
    expect(remind).to_have_text(re.compile(r"^Remind again in [0-5]:\d\d$"))
    expect(ann_page.get_by_test_id("action-error")).to_be_hidden()
    ding_id = ann_page.get_by_test_id("ding-detail").get_attribute("data-ding-id")
    again = api(ann_page.context, "POST", f"/api/v1/orgs/{org_id}/dings/{ding_id}/remind")
    assert again.status == 429 and 240 <= int(again.headers["retry-after"]) <= 300, again.text()
    # Cat, who has not confirmed, was reminded (a second in-app attempt, shown live); Bob was not.
    expect(unconfirmed.get_by_test_id("ding-attempt")).to_have_count(2)
    expect(ann_page.get_by_test_id("ding-confirmed").get_by_test_id("ding-attempt")).to_have_count(1)


def test_sms_and_call_are_unavailable_without_a_gateway_and_the_policy_says_so(new_context):
    ann_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(ann_page)
    reasons = providers(ann_page.context, org_id)
    assert reasons["app"] is None
    assert reasons["sms"] and reasons["call"], reasons

    ann_page.goto(f"/#/org/{org_id}/ding")
    ann_page.get_by_test_id("ding-new").click()
    form = ann_page.get_by_test_id("ding-form")
    expect(form.get_by_test_id("ding-channel-app")).to_be_enabled()
    expect(form.get_by_test_id("ding-channel-app")).to_be_checked()
    for channel in ("sms", "call"):
        expect(form.get_by_test_id(f"ding-channel-{channel}")).to_be_disabled()
        expect(form.get_by_test_id(f"ding-channel-reason-{channel}")).to_have_text(f"Unavailable: {reasons[channel]}")

    ann_page.get_by_test_id("ding-dialog").get_by_test_id("dialog-close").click()

    # The admin's settings: the providers plainly, and the escalation policy.
    ann_page.get_by_test_id("nav-settings").click()
    policy = ann_page.get_by_test_id("ding-policy")
    expect(policy.get_by_test_id("ding-provider-app")).to_have_text("In-app — Available")
    expect(policy.get_by_test_id("ding-provider-sms")).to_have_text(f"SMS — Unavailable: {reasons['sms']}")
    expect(policy.get_by_test_id("ding-provider-call")).to_have_text(f"Phone call — Unavailable: {reasons['call']}")

    form = policy.get_by_test_id("ding-policy-form")
    form.get_by_test_id("ding-policy-smsAfterMinutes-on").check()
    form.get_by_test_id("ding-policy-smsAfterMinutes").fill("15")
    form.get_by_test_id("ding-policy-callAfterMinutes-on").check()
    form.get_by_test_id("ding-policy-callAfterMinutes").fill("5")
    form.get_by_test_id("ding-policy-save").click()
    expect(form.get_by_test_id("form-error")).to_have_text("The call comes after the SMS.")
    form.get_by_test_id("ding-policy-callAfterMinutes-on").uncheck()
    form.get_by_test_id("ding-policy-callsPer8Minutes").fill("2")
    form.get_by_test_id("ding-policy-save").click()
    expect(policy.get_by_test_id("ding-policy-saved")).to_be_visible()
    saved = api(ann_page.context, "GET", f"/api/v1/orgs/{org_id}/ding-policy").json()["settings"]
    assert saved["smsAfterMinutes"] == 15 and saved.get("callAfterMinutes") is None and saved["callsPer8Minutes"] == 2, saved

    ann_page.reload()
    form = ann_page.get_by_test_id("ding-policy-form")
    expect(form.get_by_test_id("ding-policy-smsAfterMinutes")).to_have_value("15")
    expect(form.get_by_test_id("ding-policy-callAfterMinutes")).to_be_disabled()
    expect(form.get_by_test_id("ding-policy-callsPer8Minutes")).to_have_value("2")


def test_banner_fits_a_phone_and_confirms(new_context):
    ann_page = new_context().new_page()
    ann, _, org_id = sign_up_with_org(ann_page)
    cat, cat_page = join_org(new_context, ann_page.context, org_id, **PHONE)
    open_chat(cat_page, org_id)
    expect(cat_page.get_by_test_id("connection")).to_have_attribute("data-state", "online")

    text = unique("Please call the office back about the delivery of the new desks before noon today")
    created = api(ann_page.context, "POST", f"/api/v1/orgs/{org_id}/dings",
                  {"memberIds": [member_id(ann_page.context, org_id, cat.name)], "text": text, "channel": "app"})
    assert created.status == 201, created.text()

    banner = cat_page.get_by_test_id("ding-banner")
    expect(banner.get_by_test_id("ding-banner-text")).to_have_text(text)
    expect(banner.get_by_test_id("ding-banner-sender")).to_have_text(ann.name)
    box = banner.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
    confirm = banner.get_by_test_id("ding-banner-confirm")
    confirm_box = confirm.bounding_box()
    assert confirm_box["x"] + confirm_box["width"] <= PHONE["viewport"]["width"], confirm_box
    assert cat_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    confirm.tap()
    expect(banner).to_have_count(0)
    confirmed = api(ann_page.context, "GET", f"/api/v1/orgs/{org_id}/dings/{created.json()['id']}").json()
    assert confirmed["confirmedCount"] == 1, confirmed


def test_ding_a_message_to_chosen_group_members_scheduled_then_cancelled(new_context):
    ann_page = new_context().new_page()
    ann_page.on("dialog", lambda dialog: dialog.accept())
    _, _, org_id = sign_up_with_org(ann_page)
    bob, bob_page = join_org(new_context, ann_page.context, org_id)
    cat, _ = join_org(new_context, ann_page.context, org_id)
    group = unique("Group")
    create_group(ann_page, org_id, group, [bob.name, cat.name])
    text = unique("Bring your badge")
    send_message(ann_page, text)

    # "DING" on the message: the group's members to choose from, the message's text by default.
    message = sent_message(ann_page, text)
    message.get_by_test_id("message-more").click()
    message.get_by_test_id("message-ding").click()
    form = ann_page.get_by_test_id("ding-form")
    pick_member(ann_page, bob.name).get_by_role("checkbox").check()
    form.get_by_test_id("ding-send").click()
    expect(ann_page.get_by_test_id("ding-detail-text")).to_have_text(text)
    expect(ann_page.get_by_test_id("ding-unconfirmed").get_by_test_id("ding-recipient-name")).to_have_text([bob.name])
    expect(bob_page.get_by_test_id("ding-banner").get_by_test_id("ding-banner-text")).to_have_text(text)

    # A DING for tomorrow waits, and can be cancelled before it goes out.
    ann_page.get_by_test_id("ding-new").click()
    form = ann_page.get_by_test_id("ding-form")
    pick_member(ann_page, cat.name).get_by_role("checkbox").check()
    later = unique("Tomorrow's drill")
    form.get_by_test_id("ding-text").fill(later)
    form.get_by_test_id("ding-when-later").check()
    tomorrow = ann_page.evaluate(
        "() => { const d = new Date(Date.now() + 86400000 - new Date().getTimezoneOffset() * 60000); return d.toISOString().slice(0, 16); }")
    form.get_by_test_id("ding-scheduled-at").fill(tomorrow)
    form.get_by_test_id("ding-send").click()
    expect(ann_page.get_by_test_id("ding-detail-text")).to_have_text(later)
    expect(ann_page.get_by_test_id("ding-detail-when")).to_have_text(re.compile(r"^Scheduled for "))
    expect(ann_page.get_by_test_id("ding-remind")).to_have_count(0)
    ann_page.get_by_test_id("ding-cancel").click()
    expect(ann_page.get_by_test_id("ding-detail-when")).to_have_text("Cancelled")
    expect(ann_page.get_by_test_id("ding-cancel")).to_have_count(0)
    expect(ann_page.get_by_test_id("ding-sent").filter(has_text=later)).to_contain_text("Cancelled")
