"""SharePoint / OneDrive through Microsoft Graph: files as knowledge asset documents."""

from __future__ import annotations

from adapters.sharepoint.transport import SharePointAdapter

ADAPTER = SharePointAdapter()

__all__ = ["ADAPTER", "SharePointAdapter"]
