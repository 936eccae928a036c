"""``sfn-cache wrap`` (and, later, explain/graph)."""

wrap_commands: list = []
