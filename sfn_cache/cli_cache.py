"""``sfn-cache ls / show / rm``: inspect and prune the cache in its S3 context (issue 3)."""

cache_commands: list = []
