"""The caching Lambda runtime: imports only what a lookup needs (no click, no rewriter)."""
