"""What the tests share, in one place (no test module imports another).

- ``paths``: the project root, the bundled example, the corpus directory.
- ``corpus``: the corpus files, their classification, the templates among them (one test id per file).
- ``corpus_inputs``: an input and task answers that make a corpus definition succeed where possible.
- ``cli``: the one in-process ``wrap`` runner, the console-script runner, the one-line refusal check.
- ``events``: pull and push events for the caching Lambda.
- ``machines``: small definitions, the stand-in task, and the original/miss/hit runner.
- ``example``: the bundled example's input and task stubs (also used by benchmarks/transitions.py).
- ``net``: a free local port.
- ``hostile_inputs``, ``s3_faults``: the hostile-input generator and the S3 request recorder.

Fixtures (``aws``, ``make_engine``, ``moto_server``, ``cache_env``, ``requests``) are in tests/conftest.py.
"""
