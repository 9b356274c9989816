"""The organisation's look on the portal: a brand colour and a logo, checked before they are kept.

The colour replaces the portal's accent (links, buttons) through a small style sheet
(``portal.views.brand_css``), since the CSP allows no inline style. It carries white text,
so it must reach WCAG's 4.5:1 against white. The logo is a PNG, at most ``MAX_LOGO_BYTES``
and ``MAX_LOGO_SIZE`` pixels, read from its header: never SVG, which can carry a script,
and served with its own type under the CSP's ``img-src 'self'``.
"""

import re
import struct

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_PNG = b"\x89PNG\r\n\x1a\n"
MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_SIZE = (1200, 400)
MIN_CONTRAST = 4.5


def _luminance(colour: str) -> float:
    """WCAG 2's relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def check_brand_colour(value: str) -> None:
    if not value:
        return
    if not _HEX.fullmatch(value):
        raise ValidationError(_("Type the colour as # and six hexadecimal digits, like #0b5cad."))
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            _(
                "White text on this colour has a contrast of %(ratio).1f:1; it needs at least "
                "4.5:1 to be readable. Choose a darker colour."
            )
            % {"ratio": ratio}
        )


def darker(colour: str, factor: float = 0.8) -> str:
    """The colour a little darker: buttons under the pointer."""
    channels = [round(int(colour[i : i + 2], 16) * factor) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def check_logo(data: bytes) -> tuple[int, int]:
    """The PNG's width and height, or ``ValidationError`` saying what is wrong with it."""
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError(_("The logo may be at most 200 KB."))
    if not data.startswith(_PNG) or data[12:16] != b"IHDR" or len(data) < 24:
        raise ValidationError(_("The logo must be a PNG image."))
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_LOGO_SIZE[0] and 0 < height <= MAX_LOGO_SIZE[1]):
        raise ValidationError(_("The logo may be at most 1200 by 400 pixels."))
    return width, height
