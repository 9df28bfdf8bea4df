"""The knowledge base: articles, their ranked search, helpful votes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, Timestamp
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict

from crm_service_desk_contracts.base import ARTICLE_STATUSES, choice, crud, event, required_text, rpc, text


class KbArticleSchema(Record):
    title = fields.String()
    body = fields.String()
    status = fields.String()
    category = fields.String(allow_none=True)
    helpful_count = fields.Integer(strict=True)
    not_helpful_count = fields.Integer(strict=True)
    author_id = fields.String(allow_none=True)
    source_ticket_id = fields.String(allow_none=True)
    published_at = Timestamp(allow_none=True)
    rank = fields.Float(allow_none=True, metadata={"description": "relevance of a full-text match"})


class KbArticleCreateSchema(Strict):
    title = required_text(300)
    body = required_text(100000)
    category = text(100, allow_none=True)
    status = choice(ARTICLE_STATUSES, load_default="draft")


class KbArticleUpdateSchema(Patch):
    title = Text(validate=validate.Length(min=1, max=300))
    body = Text(validate=validate.Length(min=1, max=100000))
    category = text(100, allow_none=True)
    status = choice(ARTICLE_STATUSES)


class KbArticleQuery(ListQuery):
    SORTABLE = ("created_at", "updated_at", "helpful_count")

    status = choice(ARTICLE_STATUSES)
    category = Text(validate=validate.Length(max=100))


class KbVoteSchema(Strict):
    helpful = Boolean(required=True)


class KbArticleList(Schema):
    items = fields.List(fields.Nested(KbArticleSchema))


class KbArticleEventData(Schema):
    id = fields.String(required=True)
    title = fields.String()
    category = fields.String(allow_none=True)
    status = fields.String()
    source_ticket_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String())


KB_ARTICLE_CREATED = event("kb_article_created", KbArticleEventData, "A knowledge base article was written.",
                           "kb_article", "create")
KB_ARTICLE_UPDATED = event("kb_article_updated", KbArticleEventData, "A knowledge base article changed.",
                           "kb_article", "update")
KB_ARTICLE_PUBLISHED = event("kb_article_published", KbArticleEventData, "A knowledge base article was published.",
                             "kb_article", "update")
KB_ARTICLE_DELETED = event("kb_article_deleted", KbArticleEventData, "A knowledge base article was deleted.",
                           "kb_article", "delete")

CREATE_KB_ARTICLE, LIST_KB_ARTICLES, GET_KB_ARTICLE, UPDATE_KB_ARTICLE, DELETE_KB_ARTICLE = crud(
    "kb_article", KbArticleSchema, KbArticleCreateSchema, KbArticleUpdateSchema, KbArticleQuery)
VOTE_KB_ARTICLE = rpc("vote_kb_article", KbVoteSchema, KbArticleSchema, "Helpful or not: one vote per user.",
                      permission=("kb_article", "read"), record=True)
