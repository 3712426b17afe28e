"""Policy-link finding and the RULE BASELINE classifier (``policy.classify_disclosure``, kept to
report beside the learned one; its round trip uses the generator's per-kind classes). The learned
classifier: test_disclosure.py."""
import pytest

from transforms.survey.policy import classify_disclosure, find_policy_link, split_sentences
from transforms.synthetic.survey_policy import _services, policy_page_text

SV = _services()
CLARITY, HOTJAR, GA, GLASSBOX, YANDEX = (SV[k] for k in ("clarity", "hotjar", "google_analytics", "glassbox", "yandex_metrica"))


# -- link finding ------------------------------------------------------------------------------
def test_link_jp_text():
    anchors = [("/company/", "会社概要"), ("/privacymark/", "プライバシーマーク"),
               ("/cookie/", "Cookieポリシー"), ("/info/kojin.html", "個人情報保護方針"),
               ("mailto:info@example.co.jp", "プライバシーに関するお問い合わせ")]
    assert find_policy_link(anchors, "https://www.example.co.jp/") == \
        ("https://www.example.co.jp/info/kojin.html", "個人情報保護方針")


def test_link_jp_fullwidth_and_toriatsukai():
    anchors = [("/a", "サイトマップ"), ("/b", "個人情報の取扱いについて")]
    assert find_policy_link(anchors, "https://shop.example.jp/top")[0] == "https://shop.example.jp/b"


def test_link_en_prefers_same_site_and_policy_over_cookie():
    anchors = [("https://other-vendor.com/privacy-policy", "Privacy Policy"),
               ("/legal/cookies", "Cookie Policy"), ("javascript:void(0)", "Privacy Policy"),
               ("/legal/privacy", "Privacy Policy"), ("/privacy-settings", "Privacy Settings")]
    assert find_policy_link(anchors, "https://www.example.com/") == \
        ("https://www.example.com/legal/privacy", "Privacy Policy")


def test_link_cookie_policy_is_fallback():
    anchors = [("/about", "About us"), ("/cookies", "Cookie Policy")]
    assert find_policy_link(anchors, "https://example.com/")[0] == "https://example.com/cookies"


def test_link_url_only():
    anchors = [("/about", "About"), ("/kojinjoho/index.html", ""), ("/news", "News")]
    assert find_policy_link(anchors, "https://example.jp/")[0] == "https://example.jp/kojinjoho/index.html"
    anchors = [("/img/footer.png", " "), ("https://example.com/en/privacy-policy/", "»")]
    assert find_policy_link(anchors, "https://example.com/")[0] == "https://example.com/en/privacy-policy/"


def test_link_none():
    assert find_policy_link([("/about", "About"), ("mailto:privacy@x.com", "privacy"), ("#", "Privacy")],
                            "https://x.com/") is None
    assert find_policy_link([], "https://x.com/") is None


# -- classification: hand-written realistic snippets -----------------------------------------
JP_BOTH = """個人情報保護方針
当社は、お客様の個人情報を適切に取り扱います。
4．ウェブサイトの改善について
当社ウェブサイトでは、サービス向上のため、Microsoft Corporationが提供する「Microsoft Clarity」を導入しており、
お客様のマウスの動きやクリック、スクロールなどの操作履歴を記録し、サイトの使いやすさの分析に利用しています。
Ｇｏｏｇｌｅ　Ａｎａｌｙｔｉｃｓについて：当社はアクセス解析のためにＧｏｏｇｌｅ Ａｎａｌｙｔｉｃｓを利用しています。"""

JP_PURPOSE_ONLY = """プライバシーポリシー
当サイトは、より快適にご利用いただけるよう、ヒートマップツールにより閲覧行動を計測し、コンテンツの改善に役立てています。
取得する情報に個人を特定するものは含まれません。"""

JP_SERVICE_ONLY = """個人情報の取り扱いについて
第5条（外部送信）
当社のウェブサイトでは、以下の事業者に利用者情報を送信しています。
送信先：Hotjar Ltd.（サービス名：Hotjar）、Microsoft Corporation（サービス名：Clarity）、Google LLC（Googleアナリティクス）
送信される情報：Cookie ID、IPアドレス、閲覧したページのURL"""

JP_NEITHER = """プライバシーポリシー
当社は、お問い合わせいただいた際に、氏名・メールアドレス等の個人情報を取得します。
当サイトではCookieを使用しておりますが、Cookieには個人を特定する情報は含まれておりません。
取得した個人情報は、お問い合わせへの回答のためにのみ利用し、第三者に提供することはありません。"""

EN_BOTH = """Privacy Policy
We use Hotjar in order to better understand our users' needs and to optimize this service and experience.
Hotjar is a technology service that helps us better understand our users' experience (e.g. how much time they spend on which pages, which links they choose to click, what users do and don't like, etc.) and this enables us to build and maintain our service with user feedback.
Hotjar uses cookies and other technologies to collect data on our users' behavior and their devices.
We also use Google Analytics to analyze website traffic."""

EN_PURPOSE_ONLY = """Analytics
We may record your interactions with our website, such as mouse movements, clicks, scrolling and form entries (excluding passwords and payment details), through session replay technology so that we can identify usability issues and improve the site."""

EN_SERVICE_ONLY = """Sub-processors
The following vendors receive data from us: Amazon Web Services (hosting); Stripe (payments); Microsoft Clarity; Yandex Metrica; Mailchimp (email).
Each vendor is bound by a data processing agreement."""

EN_NEITHER_CLARITY_TRAP = """Privacy Policy
For clarity, "personal data" means any information relating to an identified or identifiable person.
Clarity and transparency are central to how we handle your data, and we use cookies only where necessary.
We keep your information secure and do not sell it to anyone.
Contact our privacy team at privacy@example.com."""


@pytest.mark.parametrize("text, service, expected", [
    (JP_BOTH, CLARITY, "both"),
    (JP_BOTH, HOTJAR, "purpose_only"),
    (JP_BOTH, GA, "both"),
    (JP_PURPOSE_ONLY, HOTJAR, "purpose_only"),
    (JP_PURPOSE_ONLY, GA, "neither"),
    (JP_SERVICE_ONLY, HOTJAR, "service_only"),
    (JP_SERVICE_ONLY, CLARITY, "service_only"),
    (JP_SERVICE_ONLY, GA, "service_only"),
    (JP_NEITHER, CLARITY, "neither"),
    (JP_NEITHER, GA, "neither"),
    (EN_BOTH, HOTJAR, "both"),
    (EN_BOTH, CLARITY, "purpose_only"),
    (EN_BOTH, GA, "both"),
    (EN_PURPOSE_ONLY, HOTJAR, "purpose_only"),
    (EN_PURPOSE_ONLY, GA, "neither"),
    (EN_SERVICE_ONLY, CLARITY, "service_only"),
    (EN_SERVICE_ONLY, YANDEX, "service_only"),
    (EN_SERVICE_ONLY, HOTJAR, "neither"),
    (EN_NEITHER_CLARITY_TRAP, CLARITY, "neither"),
    (EN_NEITHER_CLARITY_TRAP, GA, "neither"),
])
def test_classify_handwritten(text, service, expected):
    assert classify_disclosure(text, service)["disclosure_class"] == expected


def test_evidence_sentence():
    r = classify_disclosure(JP_BOTH, CLARITY)
    assert r["mentions_purpose"] and r["mentions_service"]
    assert "Microsoft Clarity" in r["evidence_sentence"] and "マウス" in r["evidence_sentence"]
    r = classify_disclosure(EN_PURPOSE_ONLY, HOTJAR)
    assert "mouse movements" in r["evidence_sentence"]
    assert classify_disclosure(JP_NEITHER, HOTJAR)["evidence_sentence"] == ""


def test_no_policy():
    for text in (None, "", "   \n"):
        r = classify_disclosure(text, HOTJAR)
        assert r == {"disclosure_class": "no_policy", "mentions_purpose": False,
                     "mentions_service": False, "evidence_sentence": ""}


def test_glassbox_word_vs_name():
    assert classify_disclosure("Our vendors include Glassbox.", GLASSBOX)["mentions_service"]
    assert not classify_disclosure("Our model is a glass box, not a black box.", GLASSBOX)["mentions_service"]


def test_clarity_in_japanese_list():
    text = "利用しているツール：Clarity（Microsoft社）"
    assert classify_disclosure(text, CLARITY)["mentions_service"]


def test_sentence_split():
    assert split_sentences("一文目。二文目！\nThird one. Fourth?") == ["一文目。", "二文目!", "Third one.", "Fourth?"]


# -- round trip over the generator -------------------------------------------------------------
SRS_SETS = [["clarity"], ["hotjar", "clarity"], ["yandex_metrica", "crazyegg", "glassbox"],
            ["foresee", "luckyorange"], ["mouseflow", "contentsquare", "fullstory", "logrocket"],
            ["dynatrace", "inspectlet", "smartlook"]]
CLASSES = ["both", "purpose_only", "service_only", "neither"]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("srs_class", CLASSES)
@pytest.mark.parametrize("ga_class", CLASSES)
def test_round_trip(lang, srs_class, ga_class):
    for seed in range(8):
        ids = SRS_SETS[seed % len(SRS_SETS)]
        disclosures = {sid: srs_class for sid in ids} | {"google_analytics": ga_class}
        text = policy_page_text(lang, disclosures, "Example Store", seed)
        assert len(text) > 400
        for sid, expected in disclosures.items():
            got = classify_disclosure(text, SV[sid])["disclosure_class"]
            assert got == expected, (lang, seed, sid, text)


def test_generator_is_deterministic_and_varied():
    d = {"hotjar": "both", "google_analytics": "purpose_only"}
    assert policy_page_text("ja", d, "Shop", 1) == policy_page_text("ja", d, "Shop", 1)
    assert len({policy_page_text("en", d, "Shop", s) for s in range(6)}) > 3


def test_generator_rejects_mixed_srs_purpose():
    with pytest.raises(ValueError):
        policy_page_text("en", {"hotjar": "both", "clarity": "neither"}, "Shop", 0)
    with pytest.raises(ValueError):
        policy_page_text("en", {"nosuch": "both"}, "Shop", 0)
