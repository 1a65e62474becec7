"""Scenario 8: signing out (everywhere the session is open), staying signed in across a browser
restart, and server errors on the forms."""

import time

from playwright.sync_api import expect

from conftest import Person, api, new_person, sign_in, sign_up, sign_up_with_org


def test_sign_out_and_stay_signed_in_across_restart(new_context):
    first = new_context()
    page = first.new_page()
    person, org_name, _ = sign_up_with_org(page)
    other_tab = first.new_page()
    other_tab.goto("/")
    expect(other_tab.get_by_test_id("connection")).to_have_text("Online")

    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-page")).to_be_visible()
    expect(other_tab.get_by_test_id("signin-page")).to_be_visible()
    assert api(first, "GET", "/api/v1/me").status == 401
    page.reload()
    expect(page.get_by_test_id("signin-page")).to_be_visible()

    sign_in(page, person)
    expect(page.get_by_test_id("list-title")).to_have_text(org_name)
    session = next(c for c in first.cookies() if c["name"] == "tack_session")
    assert session["httpOnly"]
    assert session["expires"] > time.time() + 24 * 3600, "the session cookie must outlive the browser"
    state = first.storage_state()
    first.close()

    restarted = new_context(storage_state=state).new_page()
    restarted.goto("/")
    expect(restarted.get_by_test_id("list-title")).to_have_text(org_name)
    expect(restarted.get_by_test_id("current-user")).to_have_text(person.name)


def test_bad_input_shows_the_server_message(page):
    person = new_person()
    sign_up(page, Person(person.name, person.login, "short"))
    error = page.get_by_test_id("signup-form").get_by_test_id("form-error")
    expect(error).to_have_text("The password must have at least 8 characters.")

    sign_up(page, person)
    expect(page.get_by_test_id("welcome-page")).to_be_visible()
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-page")).to_be_visible()

    sign_up(page, person)
    expect(page.get_by_test_id("signup-form").get_by_test_id("form-error")).to_have_text(
        "An account with this e-mail address or phone number already exists.")

    sign_in(page, Person(person.name, person.login, "wrong-password"))
    expect(page.get_by_test_id("signin-form").get_by_test_id("form-error")).to_have_text(
        "Wrong e-mail/phone or password.")


def test_passwords_keep_their_spaces(page):
    person = new_person()
    spaced = Person(person.name, person.login, "  spaced out password  ")
    sign_up(page, spaced)
    expect(page.get_by_test_id("welcome-page")).to_be_visible()
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-page")).to_be_visible()

    sign_in(page, Person(person.name, person.login, spaced.password.strip()))
    expect(page.get_by_test_id("signin-form").get_by_test_id("form-error")).to_have_text(
        "Wrong e-mail/phone or password.")

    # Other fields are still trimmed.
    sign_in(page, Person(person.name, f"  {person.login} ", spaced.password))
    expect(page.get_by_test_id("welcome-page")).to_be_visible()
