"""The marketing service's public links (no login, outside /api/v1) and its inbound report route.

Hand-written views, because a route table answers JSON and these answer what a table cannot say: the open
pixel is a GIF (always, even for a bad token: a mail client shows no broken image), a click is a 302 to the
message's own link (the service answers the link; a bad token is a 404 page, never a redirect), the
unsubscribe and confirmation links are HTML pages (a GET of /u shows a form and changes nothing; only the
POST, RFC 8058's one-click, unsubscribes), a form post from a browser is form-encoded and answered with a
303 to the form's redirect_url or an HTML page, and a bounce report is a raw `message/rfc822` body. Each
calls the marketing service through the gateway's one RPC client; the token is the credential.
"""
from __future__ import annotations

import base64
import json
from html import escape

from flask import Response, request
from flask.views import MethodView
from marshmallow import ValidationError

import crm_marketing_contracts as c
from crm_marketing_contracts.bounces import MAX_REPORT
from crm_common.contracts.registry import instance
from crm_common.errors import ServiceError
from crm_gateway.auth import public, requires
from crm_gateway.conventions import Blueprint, TEXT_ERROR, accepts, has_body, invalid_text_paths
from crm_gateway.openapi import refusal_response
from crm_gateway.ratelimit import limited_apart
from crm_gateway.rpc import call

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1x1, transparent
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
STYLE = ("body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
         "button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}li{margin:.2rem 0}")

ANY_OBJECT = {"type": "object", "additionalProperties": True}
ANSWERS = {"description": "the answers by field name", "required": True, "content": {
    "application/json": {"schema": ANY_OBJECT}, "application/x-www-form-urlencoded": {"schema": ANY_OBJECT}}}
ONE_CLICK = {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]},
                                     "scope": {"type": "string", "enum": ["topic", "all"], "description":
                                               "a topic campaign's message: its topic only (default) or all "
                                               "marketing mail"}}}}}}
REPORT = {"required": True, "content": {
    "message/rfc822": {"schema": {"type": "string", "minLength": 1}},
    "application/json": {"schema": {"type": "object", "required": ["raw"], "additionalProperties": False,
                                    "properties": {"raw": {"type": "string", "minLength": 1,
                                                           "maxLength": MAX_REPORT}}}}}}
NO_PATH = "no such path"
AWAY = "an HTML page: the service cannot answer just now (try again)"

links = Blueprint("marketing_links", __name__, url_prefix="", description="marketing: public links (no login)")
inbound = Blueprint("marketing_inbound", __name__, url_prefix="/api/v1", description="marketing: inbound reports")


def page(title: str, body: str, status: int = 200) -> Response:
    """A small HTML page (every value in it escaped by the caller); never cached, never framed."""
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")
    return Response(html, status=status, mimetype="text/html",
                    headers={**NO_STORE, "Content-Security-Policy": PAGE_POLICY})


def gone() -> Response:
    return page("Link not found", "<p>This link is not valid (it may have been mistyped or cut short).</p>", 404)


def unavailable() -> Response:
    return page("Please try again", "<p>We could not handle this just now. Please try again in a minute.</p>", 503)


def _public_call(method: str, payload: dict, missing=gone):
    """The service's answer for a public page, or the page to show instead: `missing()` for a token that is
    not genuine (404), "try again" (503) when the service cannot answer."""
    try:
        return call("marketing", method, payload, client_ip=request.remote_addr)
    except ServiceError as exc:
        return missing() if exc.code in ("not_found", "validation_failed") else unavailable()


def confirmation_gone() -> Response:
    return page("Link not valid", "<p>This confirmation link is not valid, or no longer is.</p>", 404)


def _agent() -> str | None:
    return request.headers.get("User-Agent", "")[:2000] or None


# -- open pixel and click ----------------------------------------------------------------------------

@links.route("/t/o/<string:token>", endpoint="TrackOpen")
class TrackOpen(MethodView):
    @links.response(200, content_type="image/gif", description="a transparent 1x1 GIF, whatever the token")
    @links.alt_response(404, description=NO_PATH)
    @limited_apart("tracking")
    @public
    def get(self, token):
        """The open pixel of a message: records an open (image proxies' kept apart); always the GIF."""
        try:
            call("marketing", c.TRACK.method, {"kind": "open", "token": token, "user_agent": _agent(),
                                               "head": request.method == "HEAD"}, client_ip=request.remote_addr)
        except ServiceError:
            pass  # a bad token or a service away: the reader still gets the image, nothing is recorded
        return Response(GIF, status=200, mimetype="image/gif", headers=NO_STORE)

    head = get  # marked public like the GET (Flask answers HEAD with it): image proxies and scanners send HEAD


@links.route("/t/c/<string:token>", endpoint="TrackClick")
class TrackClick(MethodView):
    @links.response(302, description="to the link of the message the token names")
    @links.alt_response(404, description="an HTML page: the token is not genuine or names no link")
    @links.alt_response(503, description=AWAY)
    @limited_apart("tracking")
    @public
    def get(self, token):
        """A link of a message: records the click (link scanners' kept apart) and redirects to that link."""
        found = _public_call(c.TRACK.method, {"kind": "click", "token": token, "user_agent": _agent(),
                                              "head": request.method == "HEAD"})
        if isinstance(found, Response):
            return found
        url = found.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            return gone()
        return Response(status=302, headers={"Location": url, **NO_STORE})

    head = get  # link scanners check a link with HEAD: recorded as a machine's click, answered the same


# -- unsubscribe (RFC 8058) and the double opt-in confirmation ------------------------------------------

ONE_CLICK_FIELD = '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
ALL_BUTTON = ('<form method="post">' + ONE_CLICK_FIELD + '<input type="hidden" name="scope" value="all">'
              '<button type="submit">Unsubscribe from all marketing mail</button></form>')


def _topic(state: dict) -> str:
    return escape(state["topic"].replace("_", " "))


def _unsubscribe_form(state: dict) -> str:
    """The page of the link: a topic campaign's link leaves its topic (one-click's default), with a second
    button for all marketing mail; any other message's link, all marketing mail."""
    address = escape(state["address"])
    if state.get("unsubscribed_all") or (state["unsubscribed"] and not state.get("topic")):
        return f"<p>{address} receives no more marketing mail from us.</p>"
    if not state.get("topic"):
        return (f"<p>Stop marketing mail to {address}?</p>"
                f'<form method="post">{ONE_CLICK_FIELD}<button type="submit">Unsubscribe</button></form>')
    if state["unsubscribed"]:
        return (f"<p>{address} receives no more {_topic(state)} mail from us; other marketing mail still reaches "
                f"it.</p>{ALL_BUTTON}")
    return (f"<p>Stop {_topic(state)} mail to {address}? Other marketing mail from us still reaches it.</p>"
            f'<form method="post">{ONE_CLICK_FIELD}<button type="submit">Unsubscribe from {_topic(state)}</button>'
            f"</form><p>Or stop all of it:</p>{ALL_BUTTON}")


@links.route("/u/<string:token>", endpoint="Unsubscribe")
class Unsubscribe(MethodView):
    @links.response(200, content_type="text/html", description="a page with the unsubscribe button")
    @links.alt_response(404, description="an HTML page: the token is not genuine")
    @links.alt_response(503, description=AWAY)
    @public
    def get(self, token):
        """The unsubscribe page: shows the address (masked) and a button; changes nothing (link scanners GET)."""
        state = _public_call(c.PREVIEW_UNSUBSCRIBE.method, {"token": token, "user_agent": _agent()})
        return state if isinstance(state, Response) else page("Unsubscribe", _unsubscribe_form(state))

    @links.response(200, content_type="text/html", description="the page saying the address is unsubscribed")
    @links.alt_response(404, description="an HTML page: the token is not genuine")
    @links.alt_response(503, description=AWAY)
    @links.doc(requestBody=ONE_CLICK)
    @accepts(*FORM_TYPES)
    @public
    def post(self, token):
        """Unsubscribe (RFC 8058 one-click: `List-Unsubscribe=One-Click`, form-encoded): from a topic campaign's
        topic only (`scope=all`, the page's second button: from all marketing mail), else from all marketing
        mail: suppression list, consent withdrawn."""
        scope = {"scope": "all"} if request.form.get("scope") == "all" else {}  # the page's second button
        state = _public_call(c.UNSUBSCRIBE.method, {"token": token, "user_agent": _agent(), **scope})
        if isinstance(state, Response):
            return state
        return page("You are unsubscribed", _unsubscribe_form(state))


@links.route("/c/<string:token>", endpoint="ConfirmConsent")
class ConfirmConsent(MethodView):
    @links.response(200, content_type="text/html", description="the page saying the subscription is confirmed")
    @links.alt_response(404, description="an HTML page: the link is not genuine or no longer valid")
    @links.alt_response(503, description=AWAY)
    @public
    def get(self, token):
        """The double opt-in link: confirms the pending consent (again: the same page)."""
        return _confirmed(_public_call(c.CONFIRM_CONSENT.method, {"token": token, "user_agent": _agent()},
                                       confirmation_gone))

    @links.response(200, content_type="text/html", description="the page saying the subscription is confirmed")
    @links.alt_response(404, description="an HTML page: the link is not genuine or no longer valid")
    @links.alt_response(503, description=AWAY)
    @accepts(*FORM_TYPES)
    @public
    def post(self, token):
        """The button of the confirmation page (shown to a link scanner's GET): confirms."""
        return _confirmed(_public_call(c.CONFIRM_CONSENT.method, {"token": token, "user_agent": _agent(),
                                                                   "pressed": True}, confirmation_gone))


def _confirmed(state) -> Response:
    if isinstance(state, Response):
        return state
    if state["status"] == "pending":  # a link scanner's GET changed nothing: a person presses the button
        return page("Confirm your subscription", f"<p>Subscribe {escape(state['address'])}?</p>"
                                                 '<form method="post"><button type="submit">Confirm</button></form>')
    return page("Subscription confirmed", f"<p>Thank you: {escape(state['address'])} is confirmed.</p>")


# -- a form's submission ----------------------------------------------------------------------------

def _is_json() -> bool:
    return request.mimetype == "application/json" or request.mimetype.endswith("+json")


def _answers() -> dict:
    if _is_json():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ServiceError("validation_failed", "send the answers as one JSON object",
                               errors={"_body": ["a JSON object of answers by field name"]})
        bad = invalid_text_paths(body)
        if bad:
            raise ServiceError("validation_failed", "the body holds text that is not valid Unicode or holds NUL",
                               errors={path or "$": [TEXT_ERROR] for path in bad})
        return body
    answers = {}
    for name in request.form:
        values = request.form.getlist(name)
        answers[name] = values[0] if len(values) == 1 else values
    return answers


def _errors_page(exc: ServiceError) -> Response:
    items = "".join(f"<li><b>{escape(str(name))}</b>: {escape('; '.join(map(str, msgs)) if isinstance(msgs, list) else str(msgs))}</li>"
                    for name, msgs in (exc.errors or {}).items())
    return page("Please check the form", f"<p>{escape(exc.detail)}:</p><ul>{items}</ul>"
                                         "<p>Go back, correct these fields and send the form again.</p>", 422)


def _as_html_too(response: dict) -> dict:
    """A 422 a browser's form post gets as an HTML page, a JSON post as problem+json."""
    return {**response, "content": {**response["content"], "text/html": {"schema": {"type": "string"}}}}


@links.route("/f/<id:form_id>", endpoint="SubmitForm")
class SubmitForm(MethodView):
    @links.response(201, c.SubmissionResult, description="a JSON post: its id; a browser's post to a form "
                                                          "without redirect_url: a thank-you page")
    @links.alt_response(303, description="a browser's form post: to the form's redirect_url")
    @links.alt_response(404, description="no such form (problem+json for JSON, an HTML page for a browser)")
    @links.doc(requestBody=ANSWERS, responses={422: _as_html_too(refusal_response(c.SubmissionIn)),
                                               201: {"content": {"text/html": {"schema": {"type": "string"}}}}})
    @accepts(*FORM_TYPES)
    @limited_apart("forms")
    @public
    def post(self, form_id):
        """Submit a form (public): its fields, form-encoded or JSON; rate limited per address."""
        browser = not _is_json()
        if not has_body():
            raise ServiceError("validation_failed", "send the answers (form-encoded or JSON)",
                               errors={"_body": ["the answers by field name are required"]})
        try:
            payload = instance(c.SubmissionIn).load({"answers": _answers(), "user_agent": _agent()})
            result = call("marketing", c.SUBMIT_FORM.method, payload, id=form_id, client_ip=request.remote_addr)
        except ValidationError as exc:
            exc = ServiceError("validation_failed", "the request has invalid fields", errors=exc.messages)
            if not browser:
                raise exc from None
            return _errors_page(exc)
        except ServiceError as exc:
            if not browser or exc.code not in ("validation_failed", "not_found"):
                raise
            return _errors_page(exc) if exc.code == "validation_failed" else page(
                "Form not found", "<p>This form does not exist (any more).</p>", 404)
        if browser and result.get("redirect_url"):
            return Response(status=303, headers={"Location": result["redirect_url"], **NO_STORE})
        if browser:
            return page("Thank you", "<p>We received your answers.</p>", 201)
        return Response(json.dumps(result), status=201, mimetype="application/json", headers=NO_STORE)


# -- inbound bounce and complaint reports (an integration's or a marketer's) ------------------------------

@inbound.route("/inbound/bounces", endpoint="InboundBounces")
class InboundBounces(MethodView):
    @inbound.response(200, c.InboundResult)
    @inbound.doc(requestBody=REPORT, responses={422: refusal_response(c.InboundReport)})
    @accepts("message/rfc822", "text/plain")
    @requires(*c.RECEIVE_REPORT.permission)
    def post(self):
        """A DSN (RFC 3464) or ARF report: the raw message (`message/rfc822`) or JSON `{"raw": "..."}`."""
        if _is_json():
            body = request.get_json(silent=True)
            try:
                payload = instance(c.InboundReport).load(body if isinstance(body, dict) else {})
            except ValidationError as exc:
                raise ServiceError("validation_failed", "the request has invalid fields", errors=exc.messages) from None
        else:
            payload = {"raw": request.get_data().decode("utf-8", "replace")}
        return Response(json.dumps(call("marketing", c.RECEIVE_REPORT.method, payload)), status=200,
                        mimetype="application/json")


blueprints = [links, inbound]
