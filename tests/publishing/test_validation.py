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
from tests.publishing.strict_schema import strict_problems


def test_sample_documents_are_valid_for_the_reference_validator_too():
    schema = json.loads(CARD_SCHEMA_PATH.read_text())
    for brand_id, user_id, body in member_documents(50):
        jsonschema.validate(orjson.loads(body), schema, format_checker=jsonschema.FormatChecker())
        assert problem(brand_id, user_id, body) is None
        assert strict_problems(body) == []


@pytest.mark.parametrize("change, reason", [
    (lambda d: d.pop("cards"), '"cards" is a required property'),
    (lambda d: d.update(cards=[]), "cards: [] has less than 1 item"),
    (lambda d: d["cards"][0].update(id="card_XYZ"), 'cards/0/id: "card_XYZ" does not match'),
    (lambda d: d.update(generated_at="yesterday"), 'generated_at: "yesterday" is not a "date-time"'),
    (lambda d: d["cards"][0].update(type="lottery"), 'cards/0/type: "lottery" is not one of'),
    (lambda d: d.update(extra=1), "'extra' was unexpected"),
    (lambda d: d["cards"][0]["explanation"].update(reasons=[]), "reasons: [] has less than 1 item"),
    (lambda d: d["cards"][0]["explanation"]["reasons"][0].pop("text"), '"text" is a required property'),
    (lambda d: d["cards"][0]["action"].pop("url"), '"url" is a required property'),
    (lambda d: d["cards"][0]["action"].update(url="https://app.example.com/b/{brand_id}/rewards"), "does not match"),
    (lambda d: d["rank"].update(points_to_next_rank=-1), "points_to_next_rank: -1 is less than the minimum of 0"),
])
def test_schema_violations_are_reported(change, reason):
    document = member_document(2, 1)
    change(document)
    assert reason in problem(2, 1, orjson.dumps(document))


def test_each_card_type_has_its_own_action_and_details():
    document = member_document(2, 1)
    assert problem(2, 1, orjson.dumps(document)) is None
    # An action kind, details or a target that belong to no card of its type (browse_rewards is the fallback's).
    for change in (lambda c: c["action"].update(kind="browse_rewards"),
                   lambda c: c["explanation"].update(details={}),
                   lambda c: c["action"].update(target={"unexpected_id": 1})):
        for index, card in enumerate(document["cards"]):
            broken = json.loads(json.dumps(document))
            change(broken["cards"][index])
            reason = problem(2, 1, orjson.dumps(broken))
            assert f"cards/{index}: " in reason and "not valid under any of the schemas listed in the 'oneOf'" in reason, card["type"]


@pytest.mark.parametrize("number, why", [
    (b'"multiplier":1.2500000000000002', "has more than 2 decimals"),
    (b'"points_balance":800.0', "is not of type 'integer'"),
    (b'"score":0.30000000000000004', "has more than 6 decimals"),
])
def test_the_strict_oracle_refuses_float_noise_and_floats_for_integers(number, why):
    document = member_document(2, 1)
    document["points_balance"], document["rank"]["multiplier"], document["cards"][0]["score"] = 1, 1.25, 0.5
    body = orjson.dumps(document)
    assert strict_problems(body) == []
    key = number.split(b":")[0]
    original = {b'"multiplier"': b'"multiplier":1.25', b'"points_balance"': b'"points_balance":1',
                b'"score"': b'"score":0.5'}[key]
    assert body.count(original) == 1
    problems = strict_problems(body.replace(original, number))
    assert len(problems) == 1 and why in problems[0], problems


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
