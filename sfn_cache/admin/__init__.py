"""Administration of the cache in S3 (list, show, remove, stats, doctor), without click.

The ``sfn-cache ls / show / rm / stats / doctor`` commands (sfn_cache/cli/cache.py) are a thin click
layer over these modules, so that the same operations can be scripted or tested without a command
line. They read and write what the runtime reads and writes (sfn_cache/runtime), and import nothing
of the CLI.
"""
