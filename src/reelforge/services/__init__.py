"""Every operation of the service, for the API, the CLI, the batch runner and the workers alike.

Each module holds one resource's operations (``renders``, ``assets``, ``projects``, ``keys``,
``workspaces``, ``templates``, ``brand_kits``, ``batches``, ``webhooks``...). They take a
:class:`~reelforge.services.context.Services` (settings, database, storage, secrets) and a
session, and raise :mod:`reelforge.services.errors`; they know nothing of HTTP.
"""
