"""Selecting the Task states to cache and rewriting each into its cached form."""
