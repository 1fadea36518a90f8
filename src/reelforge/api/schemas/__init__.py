"""The API contract: a Pydantic model of every response body, one module per resource.

The routes answer with JSON bytes rendered once (orjson), never through these models; the models
only describe those bodies in ``/openapi.json`` (attached with ``responses=``), so clients can be
generated from the document. ``tests/test_openapi_contract.py`` checks every recorded example
against them. A field that may be ``null`` is optional here: the document's examples leave nulls
out, while responses send them.
"""

from .analytics import FailureRate, Percentiles, RenderAnalytics, RenderGroup, RenderStateCounts
from .assets import AssetKind, AssetList, AssetOut, AssetUploaded, MediaInfo, Previews
from .batches import BatchCounts, BatchList, BatchOut, BatchRows, BatchState, RejectedRow
from .brand_kits import (
    BrandKitList,
    BrandKitOut,
    BrandKitRef,
    BrandKitVersionList,
    BrandKitVersionOut,
    ComplianceLevel,
    ComplianceReport,
    ComplianceSettingsOut,
    Finding,
)
from .common import JSONObject, Out, Page, ResourceRef
from .events import AuditEntryOut, AuditList, EventList, EventOut
from .keys import (
    AccessToken,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    ApiKeyRolled,
    OAuthClientCreated,
    OAuthClientList,
    OAuthClientOut,
    OAuthError,
)
from .problems import Problem, ProblemError
from .projects import ProjectList, ProjectOut, RevisionList, RevisionOut
from .renders import (
    PlannedOutput,
    RenderBrand,
    RenderCompliance,
    RenderError,
    RenderList,
    RenderOut,
    RenderOutput,
    RenderPlan,
    RenderState,
    TemplateRef,
)
from .system import Health, Readiness, WorkspaceLimits, WorkspaceOut, WorkspaceUsage
from .templates import (
    TemplateList,
    TemplateOut,
    TemplatePreview,
    TemplateVersionList,
    TemplateVersionOut,
    ValuesSchema,
)
from .transcripts import TranscriptList, TranscriptOut, TranscriptWordOut
from .uploads import ImportOut, UploadOut
from .webhooks import (
    EndpointHealth,
    WebhookAttemptList,
    WebhookAttemptOut,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookMessageList,
    WebhookMessageOut,
    WebhookRecovery,
)
from .workspaces import ManagedWorkspace, ManagedWorkspaceCreated, ManagedWorkspaceList, WorkspaceLimitsOut

__all__ = [
    "AccessToken",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "ApiKeyRolled",
    "AssetKind",
    "AssetList",
    "AssetOut",
    "AssetUploaded",
    "AuditEntryOut",
    "AuditList",
    "BatchCounts",
    "BatchList",
    "BatchOut",
    "BatchRows",
    "BatchState",
    "BrandKitList",
    "BrandKitOut",
    "BrandKitRef",
    "BrandKitVersionList",
    "BrandKitVersionOut",
    "ComplianceLevel",
    "ComplianceReport",
    "ComplianceSettingsOut",
    "EndpointHealth",
    "EventList",
    "EventOut",
    "FailureRate",
    "Finding",
    "Health",
    "ImportOut",
    "JSONObject",
    "ManagedWorkspace",
    "ManagedWorkspaceCreated",
    "ManagedWorkspaceList",
    "MediaInfo",
    "OAuthClientCreated",
    "OAuthClientList",
    "OAuthClientOut",
    "OAuthError",
    "Out",
    "Page",
    "Percentiles",
    "PlannedOutput",
    "Previews",
    "Problem",
    "ProblemError",
    "ProjectList",
    "ProjectOut",
    "Readiness",
    "RejectedRow",
    "RenderAnalytics",
    "RenderBrand",
    "RenderCompliance",
    "RenderError",
    "RenderGroup",
    "RenderList",
    "RenderOut",
    "RenderOutput",
    "RenderPlan",
    "RenderState",
    "RenderStateCounts",
    "ResourceRef",
    "RevisionList",
    "RevisionOut",
    "TemplateList",
    "TemplateOut",
    "TemplatePreview",
    "TemplateRef",
    "TemplateVersionList",
    "TemplateVersionOut",
    "TranscriptList",
    "TranscriptOut",
    "TranscriptWordOut",
    "UploadOut",
    "ValuesSchema",
    "WebhookAttemptList",
    "WebhookAttemptOut",
    "WebhookEndpointCreated",
    "WebhookEndpointList",
    "WebhookEndpointOut",
    "WebhookMessageList",
    "WebhookMessageOut",
    "WebhookRecovery",
    "WorkspaceLimits",
    "WorkspaceLimitsOut",
    "WorkspaceOut",
    "WorkspaceUsage",
]
