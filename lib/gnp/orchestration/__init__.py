"""Running the book: the runner that executes the stage notebooks in order, and the run's HTML book.

Owns ``runner`` (papermill, the run's Spark Connect server, the lake lock, the
manifest) and ``book`` (a run's executed notebooks as static HTML). May import
every runtime layer below it; never ``gnp.devtools``.
"""
