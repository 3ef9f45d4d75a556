"""Which error page answers: a blueprint's own handler for the pages that answer an error
their way (the sign-in form's expired token in ``auth``, the publish form's 413 in
``admin``), the app-wide page for everything else (``survey.errors``)."""

from __future__ import annotations

from .test_dashboard import make_account, sign_in

BAD_REQUEST = "Noe var galt med det som ble sendt"
TOO_LARGE = "Det du sendte, var for stort"
NOT_FOUND = "Vi fant ikke siden"
LOGIN_AGAIN = "Siden var åpen lenge. Logg inn på nytt."


def test_sign_in_without_its_token_gets_the_form_again_with_a_word_on_why(client):
    response = client.post("/logg-inn", data={"username": "admin", "password": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert LOGIN_AGAIN in html
    assert 'name="password"' in html  # the form, to sign in again


def test_other_forms_without_their_token_get_the_plain_page(app, client):
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    for path in ("/logg-ut", "/admin/kontor/bodo/steng"):  # in auth, and in admin
        response = client.post(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert BAD_REQUEST in html and LOGIN_AGAIN not in html, path


def test_too_large_elsewhere_in_admin_is_the_plain_page(app, client):
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    response = client.post("/admin/kontor/ny", data={"name": "x" * 70_000})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert TOO_LARGE in html and 'name="source"' not in html


def test_routing_errors_in_a_blueprints_prefix_get_the_app_pages(client):
    """No route matched, so no blueprint's handler can be asked: the app's pages answer
    (a 405 as a 404, as everywhere)."""
    response = client.get("/admin/finnes-ikke")
    assert response.status_code == 404 and NOT_FOUND in response.get_data(as_text=True)
    response = client.put("/logg-inn")
    assert response.status_code == 404 and NOT_FOUND in response.get_data(as_text=True)
