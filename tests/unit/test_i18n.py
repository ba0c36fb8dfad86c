import re
import string

import pytest

from podbot.core import i18n


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_locale_has_the_same_keys_as_english() -> None:
    english = i18n.catalog("en")
    for locale in i18n.LOCALES:
        assert set(i18n.catalog(locale)) == set(english), locale


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_placeholders_match_english(locale: str) -> None:
    english = i18n.catalog("en")
    for key, template in i18n.catalog(locale).items():
        assert placeholders(template) == placeholders(english[key]), (locale, key)


def test_chinese_is_chosen_for_zh_variants_and_english_is_the_fallback() -> None:
    assert re.search("[\u4e00-\u9fff]", i18n.t("error.internal", "zh-CN", error_id="E1"))
    assert "E1" in i18n.t("error.internal", "fr", error_id="E1")
    assert i18n.t("error.internal", None, error_id="E1").startswith("Sorry")
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
