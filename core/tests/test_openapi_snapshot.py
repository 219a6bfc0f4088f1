from django.core.management import call_command


def test_committed_openapi_document_matches_the_api(capsys):
    """Fails when an endpoint or schema changed without ./manage.py openapi_snapshot."""
    call_command("openapi_snapshot", "--check")
    assert "up to date" in capsys.readouterr().out
