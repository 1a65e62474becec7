"""E-mail in the UI: an admin sets up the organisation's SMTP server from the DING policy's link
(the port following the encryption, the server refusing a username without TLS, the password kept
but never shown), the test e-mail's failure in the server's words, e-mail then available to
DINGs; members choose what they get by e-mail on their own profile, and are told plainly when no
e-mail can reach them. Nothing listens on the SMTP port: delivery itself is tested elsewhere."""

import random
import re
import socket

from playwright.sync_api import expect

from conftest import Person, api, join_org, sign_up, sign_up_with_org, unique

INSECURE_AUTH = ("A username and password are only sent over an encrypted connection: "
                 "choose STARTTLS or TLS, or leave the username empty.")


def unused_port() -> int:
    """A port nothing listens on (the test e-mail to it is refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mail_settings(context, org_id):
    got = api(context, "GET", f"/api/v1/orgs/{org_id}/mail-settings")
    assert got.ok, got.text()
    return got.json()


def email_provider(context, org_id):
    """The e-mail provider as the DING policy reports it: `{ channel, available, reason? }`."""
    policy = api(context, "GET", f"/api/v1/orgs/{org_id}/ding-policy")
    assert policy.ok, policy.text()
    return next(p for p in policy.json()["providers"] if p["channel"] == "email")


def email_preferences(context, org_id):
    got = api(context, "GET", f"/api/v1/orgs/{org_id}/me/email-preferences")
    assert got.ok, got.text()
    return got.json()


def open_own_profile(page, org_id):
    """One's own profile in the organisation, through one's name in the header."""
    page.goto(f"/#/org/{org_id}")
    expect(page.get_by_test_id("list-title")).to_be_visible()
    page.get_by_test_id("current-user").click()
    expect(page.get_by_test_id("email-preferences")).to_be_visible()
    return page.get_by_test_id("email-preferences")


def test_admin_sets_up_smtp_and_members_choose_what_they_get(new_context):
    ann_page = new_context().new_page()
    ann, _, org_id = sign_up_with_org(ann_page)
    bob, bob_page = join_org(new_context, ann_page.context, org_id)
    password = unique("s3cret")
    smtp_port = unused_port()

    # Without a server the DING policy says e-mail is unavailable, and links to where it is set up.
    ann_page.get_by_test_id("nav-settings").click()
    reason = email_provider(ann_page.context, org_id)["reason"]
    provider = ann_page.get_by_test_id("ding-policy").get_by_test_id("ding-provider-email")
    expect(provider).to_have_attribute("data-available", "false")
    expect(provider.get_by_test_id("ding-provider-status")).to_have_text(f"Unavailable: {reason}")
    provider.get_by_test_id("ding-provider-email-setup").click()
    expect(ann_page).to_have_url(re.compile(rf"#/org/{org_id}/settings/mail$"))
    expect(ann_page.get_by_test_id("nav-settings")).to_have_attribute("aria-current", "page")
    expect(ann_page.get_by_test_id("settings-tab-mail")).to_have_attribute("aria-current", "page")
    expect(ann_page.get_by_test_id("mail-status")).to_have_attribute("data-configured", "false")
    expect(ann_page.get_by_test_id("mail-test")).to_have_count(0)

    # The port follows the encryption while it is one of the usual ones, and stays once typed.
    form = ann_page.get_by_test_id("mail-form")
    port, security = form.get_by_test_id("mail-port"), form.get_by_test_id("mail-security")
    expect(port).to_have_value("587")
    security.select_option("tls")
    expect(port).to_have_value("465")
    expect(form.get_by_test_id("mail-port-hint")).to_have_text("Usually port 465.")
    security.select_option("none")
    expect(port).to_have_value("25")
    port.fill(str(smtp_port))
    security.select_option("none")
    expect(port).to_have_value(str(smtp_port))

    # A username without TLS: the server refuses, and says so beside the encryption.
    form.get_by_test_id("mail-host").fill("127.0.0.1")
    form.get_by_test_id("mail-username").fill("office")
    form.get_by_test_id("mail-password").fill(password)
    form.get_by_test_id("mail-fromAddress").fill("office@example.test")
    form.get_by_test_id("mail-fromName").fill("Tack Office")
    form.get_by_test_id("mail-save").click()
    expect(form.get_by_test_id("mail-error-security")).to_have_text(INSECURE_AUTH)
    expect(security).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_test_id("form-error")).to_have_text("Correct the marked fields and save again.")
    assert mail_settings(ann_page.context, org_id)["configured"] is False

    # With STARTTLS it is saved (the typed port stays).
    security.select_option("starttls")
    expect(port).to_have_value(str(smtp_port))
    form.get_by_test_id("mail-save").click()
    expect(ann_page.get_by_test_id("mail-saved")).to_be_visible()
    expect(ann_page.get_by_test_id("mail-status")).to_have_attribute("data-configured", "true")
    expect(ann_page.get_by_test_id("mail-status")).to_contain_text(f"127.0.0.1:{smtp_port}")
    saved = mail_settings(ann_page.context, org_id)
    assert saved["configured"] and saved["passwordSet"] and "password" not in saved, saved
    assert (saved["host"], saved["port"], saved["security"], saved["username"]) == ("127.0.0.1", smtp_port, "starttls", "office")

    # The password is stored, shown as such, never in the page — also after a reload.
    for reloaded in (False, True):
        if reloaded:
            ann_page.reload()
        form = ann_page.get_by_test_id("mail-form")
        expect(form.get_by_test_id("mail-host")).to_have_value("127.0.0.1")
        expect(form.get_by_test_id("mail-security")).to_have_value("starttls")
        expect(form.get_by_test_id("mail-port")).to_have_value(str(smtp_port))
        expect(form.get_by_test_id("mail-password")).to_have_value("")
        expect(form.get_by_test_id("mail-password")).to_have_attribute("placeholder", "stored — leave empty to keep")
        expect(form.get_by_test_id("mail-password-stored")).to_be_visible()
        values = ann_page.locator("input").evaluate_all("inputs => inputs.map((i) => i.value)")
        assert password not in values and password not in ann_page.content()

    # Saving again with the field left empty keeps the password.
    form.get_by_test_id("mail-fromName").fill("Tack Front Desk")
    form.get_by_test_id("mail-save").click()
    expect(ann_page.get_by_test_id("mail-saved")).to_be_visible()
    saved = mail_settings(ann_page.context, org_id)
    assert saved["passwordSet"] and saved["fromName"] == "Tack Front Desk", saved

    # Nothing listens on the port: the test e-mail fails, in the server's words.
    ann_page.get_by_test_id("mail-test").click()
    test_error = ann_page.get_by_test_id("mail-test-error")
    expect(test_error).to_contain_text("The test e-mail was not sent. The server said: ", timeout=30_000)
    expect(test_error).to_contain_text(f"127.0.0.1:{smtp_port}")
    expect(ann_page.get_by_test_id("mail-test-result")).to_be_hidden()
    expect(ann_page.get_by_test_id("mail-test")).to_be_enabled()

    # DINGs may now go by e-mail.
    ann_page.get_by_test_id("settings-tab-general").click()
    provider = ann_page.get_by_test_id("ding-policy").get_by_test_id("ding-provider-email")
    expect(provider).to_have_attribute("data-available", "true")
    expect(provider).to_have_text("E-mail — Available")

    # Bob turns off e-mail for mentions on his own profile; it stays off.
    prefs = open_own_profile(bob_page, org_id)
    expect(prefs.get_by_test_id("email-preferences-address")).to_contain_text(bob.login)
    expect(prefs.get_by_test_id("email-preferences-unavailable")).to_have_count(0)
    expect(prefs.get_by_test_id("email-preferences-no-address")).to_have_count(0)
    for kind in ("dings", "mentions", "announcements"):
        expect(prefs.get_by_test_id(f"email-pref-{kind}")).to_be_checked()
    prefs.get_by_test_id("email-pref-mentions").uncheck()
    expect(prefs.get_by_test_id("email-preferences-saved")).to_be_visible()
    assert email_preferences(bob_page.context, org_id)["mentions"] is False
    bob_page.reload()
    prefs = bob_page.get_by_test_id("email-preferences")
    expect(prefs.get_by_test_id("email-pref-mentions")).not_to_be_checked()
    expect(prefs.get_by_test_id("email-pref-dings")).to_be_checked()
    expect(prefs.get_by_test_id("email-pref-announcements")).to_be_checked()
    # Only one's own profile has them.
    bob_page.goto(f"/#/org/{org_id}")
    bob_page.get_by_test_id("member-row").filter(has_text=ann.name).click()
    expect(bob_page.get_by_test_id("profile-name")).to_have_text(ann.name)
    expect(bob_page.get_by_test_id("email-preferences")).to_have_count(0)

    # Ann stops e-mail; Bob is told plainly, and keeps his choices.
    ann_page.goto(f"/#/org/{org_id}/settings/mail")
    ann_page.once("dialog", lambda dialog: dialog.accept())
    ann_page.get_by_test_id("mail-delete").click()
    expect(ann_page.get_by_test_id("mail-stopped")).to_be_visible()
    expect(ann_page.get_by_test_id("mail-status")).to_have_attribute("data-configured", "false")
    expect(ann_page.get_by_test_id("mail-password-stored")).to_have_count(0)
    assert mail_settings(ann_page.context, org_id)["configured"] is False
    prefs = open_own_profile(bob_page, org_id)
    expect(prefs.get_by_test_id("email-preferences-unavailable")).to_be_visible()
    expect(prefs.get_by_test_id("email-pref-mentions")).not_to_be_checked()


def test_a_member_without_an_email_address_is_told_so(new_context):
    ann_page = new_context().new_page()
    _, _, org_id = sign_up_with_org(ann_page)
    invitation = api(ann_page.context, "POST", f"/api/v1/orgs/{org_id}/invitations", {})
    assert invitation.ok, invitation.text()
    cat_page = new_context().new_page()
    cat = Person(name=unique("Cat"), login=f"+1555{random.randrange(10**7, 10**8)}")
    sign_up(cat_page, cat)
    expect(cat_page.get_by_test_id("welcome-page")).to_be_visible()
    accepted = api(cat_page.context, "POST", f"/api/v1/invitations/{invitation.json()['code']}/accept")
    assert accepted.ok, accepted.text()
    # Loaded afresh, so the app knows the membership.
    cat_page.reload()

    prefs = open_own_profile(cat_page, org_id)
    expect(prefs.get_by_test_id("email-preferences-no-address")).to_be_visible()
    expect(prefs.get_by_test_id("email-preferences-address")).to_have_count(0)
    expect(prefs.get_by_test_id("email-preferences-unavailable")).to_be_visible()
    assert "address" not in email_preferences(cat_page.context, org_id)
