"""CloudFormation/SAM templates and serverless.yml: reading the state machines out of one, and
writing wrapped ones back.

This package never calls the rewriter: the pipeline hands ``update.wrap_template`` a ``Rewriter``
that wraps one definition, so a template is edited the same way whatever the cached form is.
"""
