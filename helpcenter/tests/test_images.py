"""Pictures for how-to guides: uploaded in the admin, served while the article is published."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.tests.factories import AdminFactory
from conftest import png_bytes
from helpcenter.models import ArticleImage
from helpcenter.tests.factories import make_article

pytestmark = pytest.mark.django_db


def _image(article, content: bytes = b"", name: str = "step.png") -> ArticleImage:
    return ArticleImage.objects.create(
        article=article,
        image=SimpleUploadedFile(name, content or png_bytes(), content_type="image/png"),
        alt="The orders page",
    )


def test_published_article_images_are_public_and_cacheable(client: Client):
    item = _image(make_article())
    response = client.get(item.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes()
    assert "public" in response["Cache-Control"]
    assert item.markdown == f"![The orders page](/help/images/{item.pk})"


def test_images_of_drafts_are_hidden_except_from_staff(client: Client):
    item = _image(make_article(status="draft"))
    assert client.get(item.get_absolute_url()).status_code == 404
    client.force_login(AdminFactory())
    assert client.get(item.get_absolute_url()).status_code == 200


def test_a_file_that_is_not_an_image_is_never_served_as_one(client: Client):
    item = _image(make_article(), content=b"<html><script>alert(1)</script></html>")
    response = client.get(item.get_absolute_url())
    assert response.status_code == 404


def test_admin_upload_refuses_svg_and_accepts_png(client: Client):
    article = make_article()
    client.force_login(AdminFactory())
    url = f"/admin/helpcenter/article/{article.pk}/change/"
    form = {
        "title": article.title,
        "slug": article.slug,
        "section": article.section.pk,
        "kind": article.kind,
        "status": article.status,
        "locale": "en",
        "summary": article.summary,
        "body": article.body,
        "position": 100,
        "images-TOTAL_FORMS": 1,
        "images-INITIAL_FORMS": 0,
        "images-0-alt": "Step one",
        "revisions-TOTAL_FORMS": 0,
        "revisions-INITIAL_FORMS": 0,
    }
    svg = SimpleUploadedFile(
        "x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"
    )
    response = client.post(url, {**form, "images-0-image": svg})
    assert response.status_code == 200  # the form again, with an error
    assert not ArticleImage.objects.exists()
    png = SimpleUploadedFile("step.png", png_bytes(), "image/png")
    response = client.post(url, {**form, "images-0-image": png})
    assert response.status_code == 302
    assert ArticleImage.objects.get().alt == "Step one"
