"""A render's files downloaded under names from a template, and ZIP archives of a render's or
a batch's files (streamed, never built in memory).

`name_template` uses the fields `{render}`, `{template}`, `{row}`, `{locale}`, `{aspect}`,
`{width}`, `{height}`, `{output}`, `{role}`, `{name}` and `{ext}`: batch outputs named
`{template}-{row}-{locale}-{aspect}.{ext}` can be told apart once downloaded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from reelforge.media.zipstream import zip_stream
from reelforge.services import assets, outputs

from .. import examples_destinations as exd
from ..auth import Principal, require
from ..deps import ServicesDep, SessionDep
from ..ranges import content_disposition, file_response

__all__ = ["router"]

router = APIRouter(tags=["renders"])

Role = Literal["output", "poster", "thumbnail", "subtitles"]
TemplateQuery = Annotated[
    str | None,
    Query(max_length=300, description="How files are named, e.g. `{template}-{row}-{locale}-{aspect}.{ext}`"),
]
RolesQuery = Annotated[list[Role] | None, Query(description="Which files (default: all)")]


@router.get(
    "/v1/renders/{render_id}/files/{index}",
    summary="Download one of a render's files under its own name (or a name template's)",
    response_class=Response,
    responses=exd.FILE_RESPONSES,
)
def render_file(
    render_id: str,
    index: Annotated[int, Path(ge=0, le=1000)],
    request: Request,
    db: SessionDep,
    services: ServicesDep,
    name_template: TemplateQuery = None,
    principal: Principal = Depends(require("renders:read")),
) -> Response:
    """The render's `index`-th file (its outputs' `file_url`). `Content-Disposition` names the
    file as this render made it (a 16:9 output's captions
    after the 16:9 output, even when a 9:16 output's are the same bytes), or by `name_template`.
    HTTP Range is supported as on asset downloads."""
    template = outputs.checked_template(name_template, outputs.FILE_TEMPLATE)
    asset, name = outputs.render_file(db, principal.workspace_id, render_id, index, template)
    return file_response(
        request,
        lambda: assets.open_content(services, asset),
        etag=f'"{asset.sha256}"',
        filename=name,
        media_type=asset.content_type,
        locate=lambda disposition: assets.content_location(services, asset, disposition),
    )


def _zip(files: list[outputs.NamedFile], archive: str) -> StreamingResponse:
    entries = [(f.name, f.path, f.modified) for f in files]
    return StreamingResponse(
        zip_stream(entries),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(archive)},
    )


@router.get(
    "/v1/renders/{render_id}/files.zip",
    summary="A ZIP of a render's files",
    response_class=Response,
    responses=exd.RENDER_ZIP_RESPONSES,
)
def render_zip(
    render_id: str,
    db: SessionDep,
    services: ServicesDep,
    name_template: TemplateQuery = None,
    role: RolesQuery = None,
    principal: Principal = Depends(require("renders:read")),
) -> Response:
    """Streamed as it is read; 409 before the render succeeded."""
    template = outputs.checked_template(name_template, outputs.FILE_TEMPLATE)
    roles = tuple(role) if role else outputs.ROLES
    return _zip(
        outputs.render_files(db, services, principal.workspace_id, render_id, template, roles),
        f"{render_id}.zip",
    )


@router.get(
    "/v1/batches/{batch_id}/files.zip",
    summary="A ZIP of a batch's files, each row x locale named for itself",
    response_class=Response,
    responses=exd.BATCH_ZIP_RESPONSES,
)
def batch_zip(
    batch_id: str,
    db: SessionDep,
    services: ServicesDep,
    name_template: TemplateQuery = None,
    role: RolesQuery = None,
    principal: Principal = Depends(require("batches:read")),
) -> Response:
    """The files of the batch's renders that succeeded so far (default names
    `{row}-{locale}-{aspect}-{role}.{ext}`); two rows rendered once (identical) appear under
    each row's name. Streamed as it is read."""
    template = outputs.checked_template(name_template, outputs.BATCH_TEMPLATE)
    roles = tuple(role) if role else outputs.ROLES
    return _zip(
        outputs.batch_files(db, services, principal.workspace_id, batch_id, template, roles),
        f"{batch_id}.zip",
    )
