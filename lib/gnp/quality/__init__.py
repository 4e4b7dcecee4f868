"""Data quality: checks as rows of quality_results, what a stage reports about its writes, audit before publish.

Owns ``checks`` (row checks, key checks, volume warnings, one Spark action per
stage), ``results`` (quality results and table row counts of a stage's
commits) and ``audit`` (restore a stage's tables when a critical check fails).
May import ``gnp.core``, ``gnp.lake``, ``gnp.source`` and ``gnp.bronze``; the
Silver and Gold stages use it.
"""
