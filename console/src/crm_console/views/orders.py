"""Orders and contracts: lists and pages, and a contract's Word document downloaded through the API."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from crm_console import api
from crm_console.views.common import list_page, signed_in, visible
from crm_console.views.leads import _id

orders = Blueprint("orders", __name__, url_prefix="/orders")
contracts = Blueprint("contracts", __name__, url_prefix="/contracts")
ORDER_STATUSES = ("placed", "confirmed", "shipped", "delivered", "cancelled")
CONTRACT_STATUSES = ("draft", "signed", "active", "expired", "terminated")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _linked(record: dict) -> dict:
    return {"account": visible(f"/accounts/{record['account_id']}") if record.get("account_id") else None}


@orders.route("/")
@signed_in
def index():
    page, filters, sort, errors = list_page("/orders", ("status", "account_id"), ("-placed_at", "-total"))
    return render_template("orders/index.html", page=page, filters=filters, sort=sort, errors=errors,
                           statuses=ORDER_STATUSES, cursor=request.args.get("cursor"))


@orders.route("/<order_id>")
@signed_in
def show(order_id):
    order = api.call("GET", f"/orders/{_id(order_id)}")
    return render_template("orders/show.html", order=order, **_linked(order))


@contracts.route("/")
@signed_in
def index():
    page, filters, sort, errors = list_page("/contracts", ("status", "account_id"), ("ends_on", "-created_at"))
    return render_template("contracts/index.html", page=page, filters=filters, sort=sort, errors=errors,
                           statuses=CONTRACT_STATUSES, cursor=request.args.get("cursor"))


@contracts.route("/<contract_id>")
@signed_in
def show(contract_id):
    contract = api.call("GET", f"/contracts/{_id(contract_id)}")
    return render_template("contracts/show.html", contract=contract, **_linked(contract))


@contracts.route("/<contract_id>/document")
@signed_in
def document(contract_id):
    """The .docx as the API made it, under the API's file name; never cached by the browser or a proxy."""
    _, answer = api.call("GET", f"/contracts/{_id(contract_id)}/document", with_response=True)
    disposition = answer.headers.get("Content-Disposition") or f'attachment; filename="contract-{contract_id}.docx"'
    return Response(answer.content, mimetype=answer.headers.get("Content-Type") or DOCX,
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


BLUEPRINTS = (orders, contracts)
