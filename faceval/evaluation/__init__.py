"""The evaluation engine: run a model or score predictions into a RunData."""
