"""Search of the sales records (GET /api/v1/search, with the service desk's): the RPC."""
from __future__ import annotations

from crm_common.contracts.registry import rpc
from crm_common.search import SearchResult, query_schema

SEARCH_TYPES = ("account", "contact", "lead", "opportunity")
SalesSearchQuery = query_schema("SalesSearchQuery", SEARCH_TYPES)

# no permission of its own: each type is searched only if the caller may read it, over the caller's scope
SEARCH = rpc("sales", "search", SalesSearchQuery, SearchResult,
             description="Accounts, contacts, leads, opportunities the caller may read, by name, email or phone.")
