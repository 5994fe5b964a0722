"""Wire dissectors of mining protocols, fed the messages the engine cut from each
connection (both directions, in order). They never raise on bad input."""

from minewatch.protocols.base import Dissector, MiningSession, WireMessage, dissect_connection
from minewatch.protocols.session import ShareRecord

__all__ = ["Dissector", "MiningSession", "ShareRecord", "WireMessage", "dissect_connection"]
