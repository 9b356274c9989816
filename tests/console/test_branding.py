"""The organisation's look on the portal (issue 11, Customization): a brand colour readable
under white text, and a PNG logo, set on the organisation page and served to every page."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from opensspr.accounts.branding import check_brand_colour, contrast_with_white
from opensspr.accounts.models import Organisation
from opensspr.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
PAGE = "/console/accounts/organisation/1/change/"


def _png(width=240, height=80, kind="PNG"):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (11, 92, 173)).save(out, kind)
    return out.getvalue()


@pytest.fixture
def admin(user_factory):
    Organisation.objects.update_or_create(pk=1, defaults={"name": "Lakeside"})
    client = Client()
    client.force_login(user_factory(roles=("global_admin",)))
    return client


def _save(client, **fields):
    form = {"name": "Lakeside", "brand_colour": "", "email_closing": "", **fields}
    return client.post(PAGE, form)


@pytest.mark.parametrize(
    ("colour", "readable"),
    [
        ("#0b5cad", True),
        ("#1d6b3a", True),
        ("#000000", True),
        ("#79aec8", False),
        ("#ffbf47", False),
    ],
)
def test_a_brand_colour_must_carry_white_text(colour, readable):
    assert (contrast_with_white(colour) >= 4.5) is readable
    if readable:
        check_brand_colour(colour)
    else:
        with pytest.raises(ValidationError, match="contrast"):
            check_brand_colour(colour)


def test_a_colour_is_typed_as_hex(admin):
    response = _save(admin, brand_colour="blue")
    assert response.status_code == 200 and "six hexadecimal digits" in response.content.decode()
    assert Organisation.objects.get().brand_colour == ""


def test_the_portal_takes_the_colour_from_a_style_sheet_of_its_own(admin, client):
    assert "brand.css" not in client.get("/reset").content.decode()
    assert _save(admin, brand_colour="#1d6b3a").status_code == 302
    page = client.get("/reset").content.decode()
    assert "/brand.css?v=" in page and "style=" not in page  # the CSP allows no inline style
    css = client.get("/brand.css")
    assert css["Content-Type"].startswith("text/css")
    assert "--os-accent: #1d6b3a" in css.content.decode()


def test_a_png_logo_replaces_the_name_and_is_served_as_a_png(admin, client):
    logo = _png()
    response = admin.post(
        PAGE,
        {
            "name": "Lakeside",
            "brand_colour": "",
            "email_closing": "",
            "logo": SimpleUploadedFile("logo.png", logo, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    page = client.get("/reset").content.decode()
    assert 'class="logo" src="/brand/logo.png?v=' in page and 'alt="Lakeside"' in page
    served = client.get("/brand/logo.png")
    assert served["Content-Type"] == "image/png" and served.content == logo
    event = AuditEvent.objects.filter(activity__startswith="console.").latest("pk")
    assert "PNG 240x80" in str(event.details) and "\\x89PNG" not in str(event.details)
    assert _save(admin, remove_logo="on").status_code == 302
    assert client.get("/brand/logo.png").status_code == 404
    assert "Lakeside</span>" in client.get("/reset").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "PNG"),
        (_png(kind="JPEG"), "PNG"),
        (_png(2000, 80), "1200 by 400"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (201 * 1024), "200 KB"),
    ],
)
def test_only_a_small_png_is_kept(admin, data, message):
    response = admin.post(
        PAGE,
        {
            "name": "Lakeside",
            "brand_colour": "",
            "email_closing": "",
            "logo": SimpleUploadedFile("logo", data, content_type="image/png"),
        },
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert Organisation.objects.get().logo_png is None
