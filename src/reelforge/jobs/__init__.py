"""Background work: the render queue, the worker that takes from it and the job that runs one
render (:mod:`.queue`, :mod:`.worker`, :mod:`.render_job`), and observers of render jobs."""

from .observers import RenderLog, RenderObserver, RenderObservers
from .queue import Claim
from .render_job import RenderJob
from .worker import RenderWorker

__all__ = ["Claim", "RenderJob", "RenderLog", "RenderObserver", "RenderObservers", "RenderWorker"]
