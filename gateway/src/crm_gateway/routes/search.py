"""GET /api/v1/search (API.md, On every record): one search over sales' and the service desk's records.

Hand-written: the route asks both services at once (the gateway's RpcPool is thread-safe) and merges their
hits, best score first. Each service searches only what the caller may read, over the caller's scope.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import g
from flask.views import MethodView

import crm_sales_contracts as sales
import crm_service_desk_contracts as service_desk
from crm_common import search
from crm_gateway.auth import requires
from crm_gateway.conventions import Blueprint
from crm_gateway.rpc import pool

OWNERS = ((sales.SEARCH, sales.SEARCH_TYPES), (service_desk.SEARCH, service_desk.SEARCH_TYPES))
TYPES = tuple(kind for _, types in OWNERS for kind in types)
SearchQuery = search.query_schema("SearchQuery", TYPES)
_fan_out = ThreadPoolExecutor(max_workers=8, thread_name_prefix="search")

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="search across records")
blueprints = [blp]


@blp.route("/search", endpoint="Search")
class Search(MethodView):
    @blp.arguments(SearchQuery(), location="query")
    @blp.response(200, search.SearchResult)
    @requires("search", "read")
    def get(self, query):
        """Accounts, contacts, leads, opportunities, tickets and articles the caller may read whose name,
        email, phone, number, subject or title holds `q` (2 characters at least): exact matches first, then
        those that start with it, then the rest."""
        wanted = search.parse_types(query.get("types"), TYPES)
        actor, request_id = getattr(g, "actor", None), getattr(g, "request_id", None)
        rpc, limit = pool(), query["limit"]
        calls = []
        for contract, types in OWNERS:
            asked = [kind for kind in wanted if kind in types]
            if asked:
                calls.append(_fan_out.submit(rpc.call, contract.service, contract.method,
                                             {"q": query["q"], "types": ",".join(asked), "limit": limit},
                                             actor=actor, request_id=request_id))
        return {"items": search.merged([call.result()["items"] for call in calls], limit)}
