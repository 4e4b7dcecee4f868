"""Running the book: the runner that executes the stage notebooks in order, the run plan, and the run's HTML book.

Owns ``runner`` (papermill, the run's Spark Connect server, the lake lock, the
manifest), ``runplan`` (what a run reads and rewrites, computed once per run
and loaded by the stages), ``kernels`` (the run's one kernel, which runs every stage's
notebook in turn) and ``book`` (a run's executed notebooks as static
HTML). May import every runtime layer below it; never ``gnp.devtools``.
"""
