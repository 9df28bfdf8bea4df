"""The quick answer for a phone number already written in international form (`+49 30 1234567`).

`phonenumbers.parse` and its validation are most of an import's time per row. Most imported numbers are
already international, so this module answers those with the same metadata and the same rules as
`phonenumbers` (country code, national prefix, the region's general pattern and one of its number types,
each with its possible lengths), with two compiled patterns per region and length instead of a dozen. It
only ever says "valid, and this is its E.164 form"; anything else (national formats, extensions,
letters, non-geographic codes, an invalid number) returns None and the caller asks `phonenumbers`
itself, which gives the verdict and the error. A test compares both on many numbers.
"""
from __future__ import annotations

import re
from functools import lru_cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.phonemetadata import PhoneMetadata

_SEPARATORS = str.maketrans("", "", " -.()/")
_E164_DIGITS = re.compile(r"[1-9][0-9]{6,14}")
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
          "fixed_line", "mobile")


class _Region:
    """One region's validity rules, compiled: is this national number of any known type?"""

    def __init__(self, metadata):
        general = metadata.general_desc
        self.general_lengths = frozenset(general.possible_length)
        self.general = re.compile(general.national_number_pattern)
        self.leading_digits = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        self.national_prefix = (re.compile(metadata.national_prefix_for_parsing)
                                if metadata.national_prefix_for_parsing else None)
        self._types = []  # (possible lengths or empty for any, pattern) of each number type the region has
        for name in _TYPES:
            desc = getattr(metadata, name)
            if desc is not None and desc.national_number_pattern:
                self._types.append((frozenset(desc.possible_length), desc.national_number_pattern))
        self._by_length: dict[int, re.Pattern | None] = {}

    def valid(self, national: str) -> bool:
        length = len(national)
        if (self.general_lengths and length not in self.general_lengths) or not self.general.fullmatch(national):
            return False
        pattern = self._by_length.get(length, False)
        if pattern is False:  # the types possible at this length, as one alternation
            alternatives = [f"(?:{p})" for lengths, p in self._types if not lengths or length in lengths]
            pattern = self._by_length[length] = re.compile("|".join(alternatives)) if alternatives else None
        return pattern is not None and pattern.fullmatch(national) is not None


@lru_cache(maxsize=None)
def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code, None)
    return _Region(metadata) if metadata is not None else None


def _split(digits: str) -> tuple[int, tuple[str, ...], str] | None:
    for size in (1, 2, 3):  # country calling codes are prefix-free
        code = int(digits[:size])
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
        if regions:
            return code, regions, digits[size:]
    return None


def valid_international(text: str, country: str | None = None) -> str | None:
    """The E.164 form of `text` when it is an international number that is surely valid, else None."""
    if not text.startswith("+"):
        return None
    digits = text[1:].translate(_SEPARATORS)
    if not _E164_DIGITS.fullmatch(digits):
        return None
    split = _split(digits)
    if split is None:
        return None
    _code, regions, national = split
    main = _region(regions[0])
    if main is None or (main.national_prefix is not None and main.national_prefix.match(national)):
        return None  # phonenumbers may strip a national prefix here: let it decide
    if country and country in regions:
        region = _region(country)
        if region is not None and region.valid(national):
            return "+" + digits
    for code in regions:  # as phonenumbers.is_valid_number picks the number's region
        region = _region(code)
        if region is None:
            continue
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return "+" + digits if region.valid(national) else None
        elif region.valid(national):
            return "+" + digits
    return None
