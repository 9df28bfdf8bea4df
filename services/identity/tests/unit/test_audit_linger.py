"""Identity's audit stream lingers 80 ms: under a moderate load (a lead create's two events, a few creates a
second per client) its batches fill up to the prefetch, one transaction for up to ten events (README, issue 11's
linger row); the stream's scheduling itself is crm_common's (libs/crm_common/tests/unit/test_stream_linger.py)."""
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_identity.service import IdentityService


def test_the_audit_stream_is_batched_and_lingers_80_ms():
    (stream,) = getattr(IdentityService.on_event, ENTRYPOINT_EXTENSIONS_ATTR)
    assert (stream.batch, stream.linger_ms) == (True, 80)
