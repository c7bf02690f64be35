"""The sandbox: in-process stand-ins for the downstream systems the feeds write to (NetSuite,
Harvest, QuickBooks Online, Xero, SharePoint through Microsoft Graph), each serving that
system's API shape on 127.0.0.1 at a free port and keeping what it is given in memory.

For the embedded demo (`make run`: hub/sandbox/running.py starts them and points each feed's
connector at them, so the demo firm is delivered, acknowledged and reconciled) and for the
tests (a target's writer against sockets). Never for production: a configured hub
(PSHUB_DATABASE_URL, or any PSHUB_FEED_<TARGET>_BASE_URL) never starts them.
"""
