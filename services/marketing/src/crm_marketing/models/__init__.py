"""Tables of the marketing service, one module per area; every table is on `Base.metadata`."""
from crm_marketing.models.audience import AudienceActivity, AudienceMember
from crm_marketing.models.attribution import Attribution
from crm_marketing.models.base import LIVE, Base
from crm_marketing.models.campaigns import Campaign, CampaignVariant, EmailTemplate, Segment
from crm_marketing.models.consents import Consent
from crm_marketing.models.sending import Message, TrackingHit
from crm_marketing.models.sending import SendRateSlot, SendRecipient
from crm_marketing.models.suppressions import Suppression
from crm_marketing.models.forms import Form, FormSubmission

__all__ = ["LIVE", "AudienceActivity", "AudienceMember", "Base", "Campaign", "CampaignVariant", "Consent",
           "EmailTemplate", "Message", "Segment", "Suppression", "TrackingHit"]

from crm_marketing.models.audience import AudienceAccount  # noqa: E402 - the audience area's accounts

__all__ += ["AudienceAccount"]
__all__ += ["Attribution"]
__all__ += ["SendRateSlot", "SendRecipient"]
__all__ += ["Form", "FormSubmission"]
from crm_marketing.models.scoring import LeadScore, ScoringRule
from crm_marketing.models.mentions import SocialMention

__all__ = ["LIVE", "AudienceActivity", "AudienceMember", "Base", "Campaign", "CampaignVariant", "Consent",
           "EmailTemplate", "Message", "Segment", "Suppression", "TrackingHit"]
__all__ += ["LeadScore", "ScoringRule", "SocialMention"]
from crm_marketing.models.topics import AudienceTopic  # noqa: E402 - the audience's content topics

__all__ += ["AudienceTopic"]
