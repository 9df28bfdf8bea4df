"""Contracts of the marketing service: the events it emits and the schemas of its RPC methods.

`import crm_marketing_contracts as c` gives every public name (`c.CREATE_SUPPRESSION`, `c.Suppression`);
the modules hold one area each.
"""
from crm_common.contracts.platform import RecordChangedData, privacy_part_completed
from crm_common.contracts.registry import FROM_DATA, event
from crm_marketing_contracts.fields import EMAIL_RULE, EmailAddress, normalise_email, normalise_email_leniently
from crm_marketing_contracts.suppressions import (CHECK_SUPPRESSION, CREATE_SUPPRESSION, DELETE_SUPPRESSION,
                                                  GET_SUPPRESSION, LIST_SUPPRESSIONS, POSTED_REASONS, REASONS,
                                                  SUPPRESSION_ADDED, SUPPRESSION_LIFTED, CheckQuery, CheckResult,
                                                  Suppression, SuppressionAddedData, SuppressionIn,
                                                  SuppressionLiftedData, SuppressionPage, SuppressionQuery)
from crm_marketing_contracts.segments import (ATTRIBUTES, BEHAVIOURS, CREATE_SEGMENT, DELETE_SEGMENT, GET_SEGMENT,
                                              LIST_SEGMENT_MEMBERS, LIST_SEGMENTS, RULE_DEPTH, SEGMENT_CREATED,
                                              SEGMENT_DELETED, SEGMENT_UPDATED, UPDATE_SEGMENT, Member, MemberPage,
                                              MemberQuery, Segment, SegmentIn, SegmentPage, SegmentPatch, SegmentQuery)
from crm_marketing_contracts.consents import (CHANNELS, CONSENT_CHANGED, CREATE_CONSENT, GET_CONSENT, LIST_CONSENTS,
                                              STATUSES, UPDATE_CONSENT, Consent, ConsentChangedData, ConsentIn,
                                              ConsentPage, ConsentPatch, ConsentQuery)
from crm_marketing_contracts.templates import (CREATE_EMAIL_TEMPLATE, DELETE_EMAIL_TEMPLATE, GET_EMAIL_TEMPLATE,
                                              LIST_EMAIL_TEMPLATES, PREVIEW_EMAIL_TEMPLATE, UPDATE_EMAIL_TEMPLATE,
                                              EmailTemplate, Preview, PreviewIn, TemplateIn, TemplatePage,
                                              TemplatePatch, TemplateQuery)
from crm_marketing_contracts.campaigns import (AB_METRICS, CAMPAIGN_CREATED, CAMPAIGN_DELETED, CAMPAIGN_STATS,
                                              CAMPAIGN_UPDATED, CREATE_CAMPAIGN, DELETE_CAMPAIGN, GET_CAMPAIGN,
                                              LIST_CAMPAIGNS, STATUSES, TYPES, UPDATE_CAMPAIGN, Campaign,
                                              CampaignEventData, CampaignIn, CampaignPage, CampaignPatch,
                                              CampaignQuery, CampaignStats, VariantIn)
from crm_marketing_contracts.sending import (CAMPAIGN_SEND_FINISHED, CAMPAIGN_SEND_STARTED, CANCEL_CAMPAIGN_SEND,
                                             EMAIL_SENT, GET_SEND_JOB, SEND_CAMPAIGN, TEST_SEND, EmailSentData,
                                             SendFinishedData, SendIn, SendJob, SendStartedData, TestSendIn,
                                             TestSendResult)
from crm_marketing_contracts.tracking import (CONFIRM_CONSENT, EMAIL_CLICKED, EMAIL_OPENED, PREVIEW_UNSUBSCRIBE, TRACK,
                                              UNSUBSCRIBE, UNSUBSCRIBED, ClickData, ConfirmResult, MessageHitData,
                                              TokenIn, TrackIn, TrackResult, UnsubscribedData, UnsubscribeState)
from crm_marketing_contracts.tracking import SCOPES as UNSUBSCRIBE_SCOPES, ConfirmIn, UnsubscribeIn
from crm_marketing_contracts.consents import CONSENT_CHANGED, ConsentChangedData
from crm_marketing_contracts.forms import (CREATE_FORM, DELETE_FORM, FIELD_TYPES, FORM_SUBMITTED, GET_FORM, LIST_FORMS,
                                           SUBMIT_FORM, UPDATE_FORM, Form, FormIn, FormPage, FormPatch, FormQuery,
                                           FormSubmittedData, SubmissionIn, SubmissionResult)
from crm_marketing_contracts.bounces import (COMPLAINT_RECEIVED, EMAIL_BOUNCED, RECEIVE_REPORT, BouncedData,
                                             ComplaintData, InboundReport, InboundResult)
from crm_marketing_contracts.scoring import (CREATE_SCORING_RULE, DELETE_SCORING_RULE, GET_LEAD_SCORE,
                                             GET_SCORING_RULE, LIST_SCORING_RULES, SCORE_CHANGED,
                                             SCORING_RULE_CREATED, SCORING_RULE_DELETED, SCORING_RULE_UPDATED,
                                             UPDATE_SCORING_RULE, LeadScore, ScoringRule, ScoringRuleIn,
                                             ScoringRuleQuery, ScoringRuleUpdate)
from crm_marketing_contracts.mentions import (CREATE_MENTION, GET_MENTION, LIST_MENTIONS, MENTION_RECEIVED,
                                              MENTION_REPLY_REQUESTED, MENTION_TICKET_REQUESTED, MENTION_UPDATED,
                                              REPLY_MENTION, TICKET_MENTION, UPDATE_MENTION, Mention, MentionIn,
                                              MentionQuery, MentionUpdate, ReplyIn, TicketIn)

PRIVACY_PART_COMPLETED = privacy_part_completed("marketing")
RECORD_CHANGED = event("marketing", "record_changed", 1, RecordChangedData,
                       "A marketing record was changed, deleted or exported by a change without an event of "
                       "its own (a privacy request: a suppression entry erased or exported).",
                       entity=FROM_DATA, action=FROM_DATA)

from crm_marketing_contracts.segments import TOPICS  # noqa: E402 - sales' content topics (the topic rule)

# the public names of every area module above (each area adds one import line above this)
__all__ = sorted(name for name in dir() if not name.startswith("_") and name not in ("FROM_DATA", "event"))
