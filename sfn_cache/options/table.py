"""The one list of wrap options: every surface that offers an option derives it from here.

Each ``Option`` says how the option is spelled on the command line and in the project
configuration, what its values look like, which ``WrapOptions``/``StateRule`` field it sets and
whether the API's ``Caching(...)`` takes it. The click options, the configuration's known keys, the
API keywords, the selectors that name states and the choice lists are all loops over ``OPTIONS``,
so adding an option is one entry here (and its field in ``rewrite.options``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from sfn_cache.options.values import check_bucket, check_lambda_arn, parse_ttl, version
from sfn_cache.rewrite.options import DEFAULT_LAMBDA_ARN, PATTERNS
from sfn_cache.runtime.choices import CONCURRENT, KEY_CODE, KEY_S3

# How the command line spells an option's values:
#   value          --bucket URL                  one global value (the last one given)
#   flag           --fail-closed                 a global switch
#   globs          --include GLOB                repeatable, global
#   state=value    --bundle-name STATE=NAME      repeatable, per state only
#   [state=]value  --ttl [STATE=]DURATION        repeatable, global or per state
#   [state]        --force-rerun [STATE]         repeatable, every task (no value) or per state
Form = Literal["value", "flag", "globs", "state=value", "[state=]value", "[state]"]
ConfigType = type | tuple[type, ...]

SELECTION = ("wrap", "explain", "graph", "verify", "run")  # the commands that decide what is cached and how


@dataclass(frozen=True)
class Option:
    """One wrap option, with what each surface needs to offer it."""

    name: str  # its name; the ``Caching(...)`` keyword when ``api``
    flag: str  # the command-line spelling
    param: str  # click's parameter name
    form: Form
    help: str
    metavar: str | None = None
    default: Any = None  # the WrapOptions default (offered to click when ``show_default``)
    show_default: bool = False
    choices: tuple[str, ...] = ()
    parse: Callable[[Any], Any] | None = None  # a value -> what the field holds; ValueError says why not
    field: str | None = None  # the WrapOptions field it sets
    rule_field: str | None = None  # the StateRule field a per-state value sets
    config_key: str | None = None  # key at the top of the project configuration
    config_type: ConfigType = str
    state_key: str | None = None  # key in a ``states.<STATE>`` table of the project configuration
    state_type: ConfigType = str
    state_value: Callable[[Any], Any] | None = None  # a ``states.<STATE>`` value -> the rule field's
    api: bool = True  # ``Caching(...)`` takes it
    api_expects: str | None = None  # what an API value must be, when "expected <type>" would not say it
    commands: tuple[str, ...] = SELECTION
    # A per-state flag value leaves the configuration's global value in force (--ttl Train=1h keeps the
    # file's ttl); for the other repeatable options any value given on the command line replaces it.
    state_flags_keep_config: bool = False
    # its values may hold '=' (a JSONPath filter) after the state name, which then may not
    split_at_first_equals: bool = False
    # Whether a state name it gives must match a state (a typo is an error); --key-code/--key-s3 are not
    # checked on the command line (their states.<STATE> tables are, like every per-state table).
    checks_states: bool = True

    @property
    def repeatable(self) -> bool:
        return self.form not in ("value", "flag")

    @property
    def accumulates(self) -> bool:
        """Every value for one state goes into one rule (``--key-path`` gives a state several paths)."""
        return self.state_type is list


def _excluded(excluded: bool) -> bool | None:
    """``exclude = true`` in a states table leaves the state out; ``false`` decides nothing."""
    return False if excluded else None


OPTIONS: tuple[Option, ...] = (
    Option("lambda_arn", "--lambda-arn", "lambda_arn", "value", default=DEFAULT_LAMBDA_ARN, show_default=True,
           parse=check_lambda_arn,
           help="ARN of the caching Lambda (the default is a DefinitionSubstitutions placeholder).",
           field="lambda_arn", config_key="lambda-arn"),
    Option("bucket", "--bucket", "bucket", "value", parse=check_bucket,
           help="s3://bucket[/prefix] for the cache (default: the Lambda's SFN_CACHE_BUCKET).",
           field="bucket", config_key="bucket"),
    Option("context", "--context", "context", "value",
           help="disdat context name (default: the Lambda's SFN_CACHE_CONTEXT).",
           field="context", config_key="context"),
    Option("include", "--include", "include", "globs", metavar="GLOB", default=(),
           help="Cache only states matching GLOB (repeatable).",
           field="include", rule_field="include", config_key="include", config_type=list,
           state_key="include", state_type=bool),
    Option("exclude", "--exclude", "exclude", "globs", metavar="GLOB", default=(),
           help="Never cache states matching GLOB (repeatable).",
           field="exclude", rule_field="include", config_key="exclude", config_type=list,
           state_key="exclude", state_type=bool, state_value=_excluded),
    Option("bundle_name", "--bundle-name", "bundle_names", "state=value", metavar="STATE=NAME",
           help="Bundle name for a state (default: the state name).",
           rule_field="bundle_name", state_key="bundle-name", api=False),
    Option("key_paths", "--key-path", "key_paths", "state=value", metavar="STATE=JSONPATH",
           help="Build STATE's cache key from these input fields instead of its whole effective input.",
           rule_field="key_paths", state_key="key-paths", state_type=list, state_value=tuple, api=False,
           split_at_first_equals=True),
    Option("force_rerun", "--force-rerun", "force_rerun", "[state]", metavar="[STATE]", default=False,
           help="Always run (and re-store) every task, or only STATE (repeatable).",
           field="force", rule_field="force", config_key="force-rerun", config_type=bool,
           state_key="force", state_type=bool),
    Option("allow_context_reads", "--allow-context-reads", "allow_context_reads", "[state]", metavar="[STATE]",
           default=False,
           help="Cache tasks whose ResultSelector/OutputPath/Assign/Output read $$.State or $$.Task "
                "(a hit reads the hit state's), every task or only STATE (repeatable).",
           field="allow_context_reads", rule_field="allow_context_reads", config_key="allow-context-reads",
           config_type=bool, state_key="allow-context-reads", state_type=bool),
    Option("ttl", "--ttl", "ttls", "[state=]value", metavar="[STATE=]DURATION", parse=parse_ttl,
           help="Cached results expire after DURATION (e.g. 12h, 7d), globally or per state.",
           field="ttl", rule_field="ttl", config_key="ttl", config_type=(str, int), state_key="ttl",
           state_type=(str, int), api_expects="seconds or a duration such as '7d'", state_flags_keep_config=True),
    Option("cache_version", "--cache-version", "cache_versions", "[state=]value", metavar="[STATE=]VERSION",
           default="", parse=version,
           help="Part of the key: change it to invalidate old results, globally or per state.",
           field="cache_version", rule_field="cache_version", config_key="cache-version", config_type=(str, int),
           state_key="cache-version", state_type=(str, int), state_flags_keep_config=True),
    Option("key_code", "--key-code", "key_codes", "[state=]value", metavar="[STATE=]" + "|".join(KEY_CODE),
           choices=KEY_CODE,  # default None: auto for Lambda targets only (rewrite.key_spec.code_keyed)
           help="auto: the key names the target's code (Lambda CodeSha256, Glue script ETag, ECS/Batch "
                "revision), resolved by the caching Lambda; off: it does not. Default: auto for "
                "Lambda targets, off for the others.",
           field="key_code", rule_field="key_code", config_key="key-code", state_key="key-code",
           checks_states=False),
    Option("key_s3", "--key-s3", "key_s3s", "[state=]value", metavar="[STATE=]" + "|".join(KEY_S3), default="off",
           choices=KEY_S3,
           help="etag: every s3:// string in the key is keyed by its object's ETag (a prefix "
                "ending in / by its listing); off (default): by the string only.",
           field="key_s3", rule_field="key_s3", config_key="key-s3", state_key="key-s3", checks_states=False),
    Option("pattern", "--pattern", "pattern", "value", default="variables", show_default=True, choices=PATTERNS,
           help="Cached form: 'variables' (small, needs workflow variables) or 'classic' (no variables).",
           field="pattern", config_key="pattern"),
    Option("concurrent", "--concurrent", "concurrent", "value", default="run", show_default=True,
           choices=CONCURRENT,
           help="On a miss another execution is already computing: 'run' the task anyway, or "
                "'wait' for its result (a bounded Wait + re-pull loop; docs/runtime.md).",
           field="concurrent", config_key="concurrent"),
    Option("fail_closed", "--fail-closed", "fail_closed", "flag", default=False,
           help="Fail the execution when the cache fails (default: run uncached).",
           field="fail_closed", config_key="fail-closed", config_type=bool),
    Option("express", "--express", "express", "flag", default=False,
           help="The machine is an Express workflow (5-minute executions): shorter cache timeouts.",
           field="express", config_key="express", config_type=bool),
    Option("runtime_force", "--no-runtime-force", "runtime_force", "flag", default=True,
           help="Ignore the execution input's sfn_cache.force (no force reader state, no run_force in the "
                "pulls); the cache never receives the execution input either way.",
           field="runtime_force", config_key="runtime-force", config_type=bool),
    Option("comments", "--comments", "comments", "flag", default=False,
           help="Give every generated state a Comment saying what it does "
                "(off by default: about 300 bytes per cached task).",
           field="comments", commands=("wrap",)),
)

BY_NAME = {option.name: option for option in OPTIONS}
SELECTED = tuple(option for option in OPTIONS if option.commands == SELECTION)  # the shared set, in order

