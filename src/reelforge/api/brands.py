"""Moved to :mod:`reelforge.services.brand_kits`; kept for the routers that still import it from here."""

from __future__ import annotations

from reelforge.services.brand_kits import BrandUse, check_before_render

__all__ = ["BrandUse", "check_before_render"]
