"""The Voila dashboard: Gold queries, Altair charts, the ipywidgets app and a static report."""
