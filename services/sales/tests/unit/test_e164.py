"""The quick path for international numbers gives exactly what phonenumbers gives, or stands aside."""
import random

import phonenumbers
import pytest

from crm_sales.domain import checks, e164


def slow(text: str, country: str | None) -> str | None:
    """checks.phone's answer through phonenumbers alone (None when it refuses the number)."""
    try:
        number = phonenumbers.parse(text, country if not text.startswith("+") else None)
    except phonenumbers.NumberParseException:
        return None
    if country and country in phonenumbers.region_codes_for_country_code(number.country_code):
        if phonenumbers.is_valid_number_for_region(number, country):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def candidates(seed: int, count: int):
    """International numbers of every country code: real examples, their neighbours, and random digits,
    written compact and with separators, some with the national prefix left in."""
    rng = random.Random(seed)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    for _ in range(count):
        region = rng.choice(regions)
        code = phonenumbers.country_code_for_region(region)
        example = phonenumbers.example_number(region)
        kind = rng.random()
        if example is not None and kind < 0.5:
            national = phonenumbers.national_significant_number(example)
            if kind < 0.25:  # change the last digits
                tail = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3)))
                national = national[:-len(tail)] + tail
        else:
            national = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 13)))
        if rng.random() < 0.1:
            national = "0" + national
        text = f"+{code}{national}"
        if rng.random() < 0.3:
            text = f"+{code} ({national[:2]}) {national[2:5]}-{national[5:]}"
        country = rng.choice([None, region, rng.choice(regions)])
        yield text, country


@pytest.mark.parametrize("seed", range(2))
def test_the_quick_answer_is_phonenumbers_answer(seed):
    quick_answers = 0
    for text, country in candidates(seed, 3000):
        quick = e164.valid_international(text, country)
        expected = slow(text, country)
        if quick is not None:
            quick_answers += 1
            assert quick == expected, (text, country)
        assert checks.phone(text, country) == expected if expected else True
    assert quick_answers > 600  # it does answer for the common case


@pytest.mark.parametrize("text,country,expected", [
    ("+4930123456", None, "+4930123456"),
    ("+49 30 123456", "DE", "+4930123456"),
    ("+1 (212) 555-0100", "US", "+12125550100"),
    ("+44 020 7946 0018", "GB", None),  # national prefix written in: phonenumbers strips it, the quick path stands aside
    ("+49 30 123456 ext. 7", None, None),
    ("030 123456", "DE", None),
    ("+80012345678", None, None),  # non-geographic: left to phonenumbers
    ("+1 999 555 0100", None, None),  # not a valid NANP number
])
def test_the_quick_path_answers_only_what_it_is_sure_of(text, country, expected):
    assert e164.valid_international(text, country) == expected


def test_invalid_numbers_still_get_phonenumbers_error():
    with pytest.raises(ValueError):
        checks.phone("+1 999 555 0100")
    assert checks.phone("+44 020 7946 0018") == "+442079460018"
