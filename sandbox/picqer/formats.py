"""Picqer's value formats: timestamps, ISO country codes, printed addresses, tag text colours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sandbox.picqer.errors import INVALID_COUNTRY, PicqerError, invalid

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Picqer writes account-local times without a zone (UNCONFIRMED which zone, facts §9). The sandbox
# uses UTC so that times line up with the clock tests set; one constant to change if that proves wrong.
ACCOUNT_TZ = UTC

_ISO_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRIES = frozenset(_ISO_CODES.split())

# Picqer prints addresses in the account language; the doc's examples are Dutch ("Nederland").
COUNTRY_NAMES = {
    "NL": "Nederland",
    "BE": "België",
    "DE": "Duitsland",
    "FR": "Frankrijk",
    "GB": "Verenigd Koninkrijk",
    "US": "Verenigde Staten",
    "CA": "Canada",
    "ES": "Spanje",
    "IT": "Italië",
    "AT": "Oostenrijk",
    "LU": "Luxemburg",
    "DK": "Denemarken",
    "SE": "Zweden",
    "PL": "Polen",
    "CH": "Zwitserland",
}


def picqer_time(moment: datetime) -> str:
    return moment.astimezone(ACCOUNT_TZ).strftime(TIME_FORMAT)


def parse_filter_time(value: str, name: str) -> datetime:
    """A filter value as Picqer accepts it: ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD``."""
    for pattern in (TIME_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=ACCOUNT_TZ)
        except ValueError:
            continue
    raise invalid(f"Invalid date for {name}, use YYYY-MM-DD HH:MM:SS")


def check_date(value: str, name: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise invalid(f"Invalid date for {name}, use YYYY-MM-DD") from None
    return value


def country_code(value: Any, name: str) -> str:
    """Upper-cased ISO 3166 alpha-2 code (Picqer's own guest example sends ``"nl"``)."""
    if not isinstance(value, str) or value.strip().upper() not in ISO_COUNTRIES:
        raise PicqerError(400, INVALID_COUNTRY, f"Invalid country code for {name}: {value!r}")
    return value.strip().upper()


def printed_address(fields: dict[str, Any], prefix: str) -> str | None:
    """``full_delivery_address`` / ``full_invoice_address``: the lines as they go on a label."""
    name = fields.get(f"{prefix}name")
    if not name:
        return None
    zipcode, city = fields.get(f"{prefix}zipcode"), fields.get(f"{prefix}city")
    place = " ".join(str(part) for part in (zipcode, city) if part)
    country = fields.get(f"{prefix}country")
    lines = [
        name,
        fields.get(f"{prefix}contactname"),
        fields.get(f"{prefix}address"),
        fields.get(f"{prefix}address2"),
        place,
        fields.get(f"{prefix}region"),
        COUNTRY_NAMES.get(country, country) if isinstance(country, str) else None,
    ]
    return "\n".join(str(line) for line in lines if line)


def text_color(background: str) -> str:
    """Picqer's read-only ``textColor``: black on light tags, white on dark ones."""
    try:
        red, green, blue = (int(background.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return "#000000"
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return "#000000" if luminance > 140 else "#FFFFFF"
