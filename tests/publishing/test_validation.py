"""Schema validation of card documents before publishing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import jsonschema
import orjson
import psutil
import pytest

from ingestion.paths import PROJECT_ROOT
from publishing.sample_documents import member_document, member_documents
from publishing.validation import (
    CARD_SCHEMA_PATH,
    BackgroundValidator,
    InvalidDocumentsError,
    problem,
)


def test_sample_documents_are_valid_for_the_reference_validator_too():
    schema = json.loads(CARD_SCHEMA_PATH.read_text())
    for brand_id, user_id, body in member_documents(50):
        jsonschema.validate(orjson.loads(body), schema, format_checker=jsonschema.FormatChecker())
        assert problem(brand_id, user_id, body) is None


@pytest.mark.parametrize("change, reason", [
    (lambda d: d.pop("cards"), '"cards" is a required property'),
    (lambda d: d.update(cards=[]), "cards: [] has less than 1 item"),
    (lambda d: d["cards"][0].update(id="card_XYZ"), 'cards/0/id: "card_XYZ" does not match'),
    (lambda d: d.update(generated_at="yesterday"), 'generated_at: "yesterday" is not a "date-time"'),
    (lambda d: d["cards"][0].update(type="lottery"), 'cards/0/type: "lottery" is not one of'),
    (lambda d: d.update(extra=1), "'extra' was unexpected"),
    (lambda d: d["cards"][0]["explanation"].update(reason_codes=[]), "reason_codes: [] has less than 1 item"),
    (lambda d: d["rank"].update(points_to_next_rank=-1), "points_to_next_rank: -1 is less than the minimum of 0"),
])
def test_schema_violations_are_reported(change, reason):
    document = member_document(2, 1)
    change(document)
    assert reason in problem(2, 1, orjson.dumps(document))


def test_valid_document_of_another_member_or_not_json_is_refused():
    assert problem(2, 1, orjson.dumps(member_document(2, 1))) is None
    assert "brand 2 user 1" in problem(3, 1, orjson.dumps(member_document(2, 1)))
    assert problem(2, 1, b"{not json").startswith("not JSON")


def test_validated_lists_the_first_offenders_after_checking_everything():
    documents = list(member_documents(20))
    broken = {3, 7, 8, 9, 10, 11, 15}
    for index in broken:
        brand_id, user_id, _ = documents[index]
        documents[index] = (brand_id, user_id, b"[]")
    with BackgroundValidator() as validator, pytest.raises(InvalidDocumentsError) as raised:
        validator.submit(documents[:12])
        validator.submit(documents[12:])
        validator.finish()  # raises only after checking everything submitted
    assert raised.value.total == len(broken)
    assert [(o.brand_id, o.user_id) for o in raised.value.offenders] == [documents[i][:2] for i in sorted(broken)[:5]]
    assert "7 card document(s) invalid" in str(raised.value)
    assert 'document: [] is not of type "object"' in str(raised.value)

    with BackgroundValidator() as validator:
        validator.submit([d for i, d in enumerate(documents) if i not in broken])
        assert validator.finish() == 20 - len(broken)


def test_validation_workers_exit_when_the_publisher_is_killed():
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        from publishing.sample_documents import member_documents
        from publishing.validation import BackgroundValidator

        if __name__ == "__main__":
            with BackgroundValidator() as validator:
                validator.submit(list(member_documents(9_000)))  # several chunks submitted to the workers
                print("midway", flush=True)
                sys.stdin.readline()
        """)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "midway"
        workers = psutil.Process(child.pid).children(recursive=True)
        assert workers
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    deadline = time.monotonic() + 60
    while any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers):
        assert time.monotonic() < deadline, "validation workers outlived their publisher"
        time.sleep(0.1)
