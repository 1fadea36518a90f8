"""Background work: the render worker and the job that runs one render."""

from .render_job import Claim, RenderJob
from .worker import RenderWorker

__all__ = ["Claim", "RenderJob", "RenderWorker"]
