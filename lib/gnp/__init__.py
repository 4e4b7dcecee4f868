"""Greek Net Pulse: the helper library behind the notebook book."""
__version__ = "0.1.0"
