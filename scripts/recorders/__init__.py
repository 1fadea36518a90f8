"""One recorder per examples area: ``record(root) -> {name: value}``, run by
``scripts/record_examples.py`` against a service it starts in ``root``."""
