"""Search of the service desk's records (GET /api/v1/search, with sales'): the RPC."""
from __future__ import annotations

from crm_common.contracts.registry import rpc
from crm_common.search import SearchResult, query_schema

SEARCH_TYPES = ("ticket", "article")
DeskSearchQuery = query_schema("DeskSearchQuery", SEARCH_TYPES)

# no permission of its own: tickets are searched if the caller may read tickets (over their visibility),
# articles if they may read the knowledge base
SEARCH = rpc("service_desk", "search", DeskSearchQuery, SearchResult,
             description="Tickets by number or subject and articles by title, of those the caller may read.")
