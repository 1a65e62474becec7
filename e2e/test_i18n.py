"""Scenario 2: the screens in Chinese (zh-CN), and switching the language in the UI."""

import json
import re
from pathlib import Path

from playwright.sync_api import expect

from conftest import api, create_department, create_invitation, new_person, sign_up, unique

PUBLIC = Path(__file__).resolve().parent.parent / "Public"


def test_screens_render_in_chinese_and_language_switches(new_context):
    context = new_context(locale="zh-CN")
    page = context.new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("signin-page")).to_contain_text("登录 Tack")
    expect(page.get_by_test_id("signin-submit")).to_have_text("登录")

    page.get_by_test_id("to-signup").click()
    expect(page.get_by_test_id("signup-page")).to_contain_text("创建账号")
    sign_up(page, new_person("zh"))
    expect(page.get_by_test_id("welcome-page")).to_contain_text("创建组织")

    org_name = unique("学校")
    form = page.get_by_test_id("create-org-form")
    form.get_by_test_id("org-name").fill(org_name)
    form.get_by_test_id("org-kind").select_option("school")
    form.get_by_test_id("create-org-submit").click()
    expect(page.get_by_test_id("dept-tree")).to_contain_text("部门")
    expect(page.get_by_test_id("member-search")).to_have_attribute("placeholder", "按姓名、邮箱或手机号搜索")
    expect(page.get_by_test_id("nav-directory")).to_have_text("通讯录")
    expect(page.get_by_test_id("connection")).to_have_text("在线")
    create_department(page, "八年级二班", kind="class")
    expect(page.get_by_test_id("tree-node").filter(has_text="八年级二班")).to_contain_text("班级")

    org_id = re.search(r"#/org/([^/]+)", page.url).group(1)
    create_invitation(page, org_id)
    expect(page.get_by_test_id("invites-page")).to_contain_text("邀请码")
    expect(page.get_by_test_id("invite-create")).to_have_text("生成邀请")

    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("invite-create")).to_have_text("Create invitation")
    expect(page.get_by_test_id("nav-directory")).to_have_text("Directory")

    page.reload()
    expect(page.get_by_test_id("invite-create")).to_have_text("Create invitation")
    me = api(context, "GET", "/api/v1/me")
    assert me.ok
    assert me.json()["user"].get("locale") == "en"

    page.get_by_test_id("lang-switch").select_option("zh-CN")
    expect(page.get_by_test_id("nav-directory")).to_have_text("通讯录")


def _keys_used_in_code():
    keys = set()
    for path in (PUBLIC / "js").rglob("*.js"):
        keys.update(re.findall(r"\bt\('([\w.-]+)'", path.read_text(encoding="utf-8")))
    return keys


def test_dictionaries_are_complete():
    en = json.loads((PUBLIC / "i18n" / "en.json").read_text(encoding="utf-8"))
    zh = json.loads((PUBLIC / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh), set(en) ^ set(zh)
    missing = _keys_used_in_code() - set(en)
    assert not missing, missing
    untranslated = [k for k in en if en[k] and en[k] == zh[k] and k not in {"app.name", "app.title", "lang.en", "lang.zh-CN"}]
    assert not untranslated, untranslated


def test_client_code_never_inserts_html_or_inline_code():
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('style'|\.on\w+\s*=")
    for path in (PUBLIC / "js").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not forbidden.search(text), f"{path}: {forbidden.search(text).group(0)}"
    html = (PUBLIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\sstyle=|\son\w+=", html), "inline style or handler"
