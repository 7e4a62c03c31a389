"""Schema-driven fuzzing: schemathesis generates requests from the app's own OpenAPI document.

Runs in process (ASGI, no sockets) against the tiny model. Every operation gets valid and invalid
bodies and path parameters; no answer may be a 500, and every answer must match the schema
the app publishes (status code, content type, body).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
schemathesis = pytest.importorskip(
    "schemathesis", reason="the fuzz test needs schemathesis: pip install 'malmoi[test]'"
)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402
from schemathesis.core.result import Err  # noqa: E402

EXAMPLES_PER_OPERATION = 100  # ~8 operations x 2 modes x 100 requests: about 20 s in process
MAX_FAILURE_CHARS = 1500  # generated strings can be megabytes long


@pytest.fixture(scope="module")
def api_schema(chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from malmoi.serve import create_app

    database = tmp_path_factory.mktemp("fuzz") / "state.sqlite3"
    # schemathesis sends "Host: testserver"; any other host would get 400 invalid_host.
    app = create_app(chat_model_dir, database_url=f"sqlite:///{database}", allowed_hosts=["testserver"])
    return schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,  # invalid requests must get a 4xx, not a 2xx
]


def shorten(text: str, limit: int = MAX_FAILURE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def fuzz(operation, mode: GenerationMode) -> str | None:
    """Run one operation's examples; what went wrong and a curl line to reproduce it, or None."""
    failing: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,  # the first parse warms torch up; time is bounded by the example count instead
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same requests on every run: a failure in CI reproduces locally
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        try:
            case.call_and_validate(checks=CHECKS)
        except BaseException:
            failing.append(case.as_curl_command())  # the last one is Hypothesis's shrunk example
            raise

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            return None  # nothing to make invalid: GET /health takes no parameters
        raise
    # schemathesis's FailureGroup is a BaseExceptionGroup; every operation runs, failures are reported together.
    except (Exception, BaseExceptionGroup) as exc:  # noqa: F821 - a builtin since 3.11, which this test needs
        problems = getattr(exc, "exceptions", None) or [exc]
        found = "; ".join(shorten(f"{getattr(p, 'title', type(p).__name__)}: {getattr(p, 'message', p)}", 500)
                          for p in problems)
        return f"{found}\nreproduce: {shorten(failing[-1]) if failing else '(no request was sent)'}"
    return None


# schemathesis.pytest.from_fixture would give one test per operation, but it breaks on pytest 9.2
# (it sets Node._nodeid); driving each operation's Hypothesis strategy directly works on any pytest.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_fuzz_no_server_error_and_matches_schema(api_schema, mode: GenerationMode) -> None:
    operations = []
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"the app's OpenAPI document has an invalid operation: {result.err()}")
        operations.append(result.ok())
    assert {"POST /v1/parse", "POST /v1/chat", "GET /health"} <= {op.label for op in operations}
    failures = {op.label: failure for op in operations if (failure := fuzz(op, mode))}
    assert not failures, f"{len(failures)} operation(s) failed with {mode.value} data:\n\n" + "\n\n".join(
        f"== {label}\n{failure}" for label, failure in failures.items()
    )
