"""Delivering render outputs to destinations: credentials at rest (:mod:`.crypto`), the four
kinds of target (:mod:`.targets`), file naming (:mod:`.naming`) and the background worker that
claims due deliveries and retries them with backoff (:mod:`.worker`)."""
