"""Comments with @mentions on leads, accounts, contacts and opportunities (crm_common.contracts.records)."""
from crm_common.contracts.records import comment_contracts, comment_mentioned_event

LEAD_COMMENTS = comment_contracts("sales", "lead")
ACCOUNT_COMMENTS = comment_contracts("sales", "account")
CONTACT_COMMENTS = comment_contracts("sales", "contact")
OPPORTUNITY_COMMENTS = comment_contracts("sales", "opportunity")
COMMENT_MENTIONED = comment_mentioned_event("sales")

# files on the same records (crm_common.contracts.records)
from crm_common.contracts.records import attachment_contracts  # noqa: E402

ATTACHMENTS = attachment_contracts("sales", ("lead", "account", "contact", "opportunity", "quote", "contract"))

# generated documents kept as files of their record, or of its opportunity
from marshmallow import fields as _fields, validate as _validate  # noqa: E402

from crm_common.contracts.records import Attachment  # noqa: E402
from crm_common.contracts.registry import rpc  # noqa: E402
from crm_common.contracts.schemas import Strict  # noqa: E402
from crm_sales_contracts.sales_contracts import Document  # noqa: E402


class KeepDocument(Strict):
    RULES = ("attach_to opportunity needs a record linked to an opportunity the caller may change",)

    attach_to = _fields.String(load_default="record", validate=_validate.OneOf(("record", "opportunity")),
                               metadata={"description": "record: the quote or contract itself; opportunity: its "
                                                        "opportunity"})


QUOTE_DOCUMENT = rpc("sales", "quote_document", None, Document, permission=("quote", "read"), record=True,
                     description="The quote as a Word document (customer, lines, totals, validity).")
KEEP_QUOTE_DOCUMENT = rpc("sales", "keep_quote_document", KeepDocument, Attachment, permission=("quote", "update"),
                          record=True, description="Keep the quote's Word document as a file of the quote or of "
                                                   "its opportunity.")
KEEP_CONTRACT_DOCUMENT = rpc("sales", "keep_contract_document", KeepDocument, Attachment,
                             permission=("contract", "update"), record=True,
                             description="Keep the contract's Word document as a file of the contract or of its "
                                         "opportunity.")
