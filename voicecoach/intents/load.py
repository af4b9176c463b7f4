"""Loading the intent catalog: the shipped templates come from the compiled cache
(intents/compiled.py) when it holds them, any other folder is compiled afresh.

It sits above both `catalog` (which compiles templates) and `compiled` (which keeps a
compiled catalog), so neither needs the other's loading.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from voicecoach.intents.catalog import INTENTS_DIR, Catalog, CatalogError, build_catalog
from voicecoach.intents.compiled import cached, default_cache_dir


@lru_cache(maxsize=4)
def load_catalog(directory: Path | str | None = None, exercises: tuple[tuple[str, str], ...] = (),
                 cache: bool = True) -> Catalog:
    """Load and compile every *.yaml in `directory` (default: the shipped templates).

    `exercises` are (spoken name, id) pairs from the content (Content.exercise_names): each
    becomes a value of the {exercise} list unless the templates already give that phrase a
    meaning, so an exercise added to the content is started by its name with no template edit.
    `cache=False` (the `catalog_cache` setting) compiles them anew and keeps nothing.
    Raises CatalogError listing every problem as `file:line: message`.
    """
    directory = Path(directory) if directory else INTENTS_DIR
    if directory == INTENTS_DIR:
        # The shipped templates are compiled once and kept; problems are never kept: a broken
        # file is reported every time.
        catalog, problems = cached(directory, lambda: build_catalog(directory, exercises),
                                   default_cache_dir() if cache else None,
                                   keep=lambda built: not built[1], variant=repr(exercises) if exercises else "")
    else:
        catalog, problems = build_catalog(directory, exercises)
    if problems:
        raise CatalogError(problems)
    assert catalog is not None
    return catalog
