import copy
import subprocess
import sys

import pytest
import yaml
from django.core.management import CommandError, call_command

from policy.checks import policy_file_is_valid
from policy.loader import PolicyError, load_policy_file, parse_policy, reset_policy_cache

POLICY_FILE = "policies/izonie.yaml"

with open(POLICY_FILE) as handle:
    IZONIE = yaml.safe_load(handle)


def broken(change) -> dict:
    data = copy.deepcopy(IZONIE)
    change(data)
    return data


def problems_of(data) -> list[str]:
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(data)
    return excinfo.value.problems


def test_the_izonie_policy_loads():
    policy = load_policy_file(POLICY_FILE)
    assert [c.name for c in policy.categories] == [
        "Order Status",
        "Payments",
        "Technical Support",
        "Returns",
        "Seller Support",
    ]
    assert policy.channels["email"].address == "support@izonie.com"
    assert policy.calendar.time_zone == "Africa/Lagos"
    assert policy.escalation.request_label == "Escalate to a Supervisor"


def test_an_impossible_time_is_named_exactly():
    problems = problems_of(
        broken(lambda d: d["channels"]["live_chat"]["hours"][0].update(close="25:00"))
    )
    assert problems == [
        "channels.live_chat.hours[0].close: 25:00 is not a time (use HH:MM, 00:00 to 24:00)"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda d: d["channels"]["live_chat"]["hours"][0].update(open="21:00"),
            "channels.live_chat.hours[0]: close 20:00 is not after open 21:00",
            id="close-before-open",
        ),
        pytest.param(
            lambda d: d["calendar"]["weekly_hours"][0].update(open="20:00"),
            "calendar.weekly_hours[0]: close 20:00 is not after open 20:00",
            id="close-equals-open",
        ),
        pytest.param(
            lambda d: d["response_targets"][0].update(target="0 minutes"),
            "response_targets[0].target.amount: 0 must be greater than zero",
            id="zero-target",
        ),
        pytest.param(
            lambda d: d["response_targets"][0].update(target="-2 minutes"),
            "response_targets[0].target: '-2 minutes' is not a duration",
            id="negative-target",
        ),
        pytest.param(
            lambda d: d["response_targets"][0].update(breach="0 hours"),
            "response_targets[0].breach.amount: 0 must be greater than zero",
            id="zero-breach",
        ),
        pytest.param(
            lambda d: d["response_targets"][0].update(target="10 minutes"),
            "response_targets[0]: breach 5 minutes is before target 10 minutes",
            id="breach-before-target",
        ),
        pytest.param(
            lambda d: d["response_targets"][0]["applies_to"].update(channels=["pigeon"]),
            "response_targets[0].applies_to.channels: unknown channel 'pigeon'",
            id="unknown-channel",
        ),
        pytest.param(
            lambda d: d["response_targets"][0]["applies_to"].update(categories=["gardening"]),
            "response_targets[0].applies_to.categories: unknown category 'gardening'",
            id="unknown-category",
        ),
        pytest.param(
            lambda d: d["response_targets"][0].update(hours_of="pigeon"),
            "response_targets[0].hours_of: unknown channel 'pigeon'",
            id="unknown-hours-of",
        ),
        pytest.param(
            lambda d: d["categories"][0].update(team="nobody"),
            "categories[0].team: unknown team 'nobody'",
            id="unknown-team",
        ),
        pytest.param(
            lambda d: d["calendar"].update(time_zone="Mars/Olympus"),
            "calendar.time_zone: Mars/Olympus is not an IANA time zone",
            id="unknown-time-zone",
        ),
        pytest.param(
            lambda d: d["calendar"]["holidays"].update(country="XX"),
            "calendar.holidays.country: XX is not a country the holidays package knows",
            id="unknown-holiday-country",
        ),
        pytest.param(
            lambda d: d.pop("escalation"),
            "escalation: Field required",
            id="missing-section",
        ),
        pytest.param(
            lambda d: d["channels"]["email"].update(colour="blue"),
            "channels.email.colour: Extra inputs are not permitted",
            id="unknown-field",
        ),
        pytest.param(
            lambda d: d["channels"]["live_chat"]["hours"][0].update(days=["someday"]),
            "channels.live_chat.hours[0].days[0]: Input should be 'mon'",
            id="unknown-weekday",
        ),
    ],
)
def test_broken_policies_name_the_field(change, expected):
    problems = problems_of(broken(change))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_listed_not_only_the_first():
    def two_mistakes(d):
        d["calendar"]["time_zone"] = "Nowhere"
        d["categories"][1]["team"] = "nobody"

    problems = problems_of(broken(two_mistakes))
    assert any(p.startswith("calendar.time_zone: Nowhere") for p in problems), problems
    # Cross-references are checked once the sections themselves are valid.
    fixed_zone = broken(lambda d: d["categories"][1].update(team="nobody"))
    assert problems_of(fixed_zone) == ["categories[1].team: unknown team 'nobody'"]


def test_a_file_that_is_not_a_mapping(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(PolicyError) as excinfo:
        load_policy_file(listing)
    assert excinfo.value.problems == ["the file must hold a mapping of policy sections"]
    assert excinfo.value.path == str(listing)


def test_a_file_that_is_not_yaml(tmp_path):
    garbage = tmp_path / "bad.yaml"
    garbage.write_text("channels: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy_file(garbage)


def test_a_missing_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy_file(tmp_path / "missing.yaml")


def test_an_empty_file(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(PolicyError, match="mapping of policy sections"):
        load_policy_file(empty)


def test_policy_check_command_accepts_the_izonie_policy(capsys):
    call_command("policy", "check", POLICY_FILE)
    out = capsys.readouterr().out
    assert "valid policy v1 for Izonie" in out
    assert "5 categories" in out


def test_policy_check_command_lists_the_problems(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"

    def two_mistakes(d):
        d["channels"]["live_chat"]["hours"][0]["close"] = "25:00"
        d["calendar"]["holidays"]["country"] = "XX"

    bad.write_text(yaml.safe_dump(broken(two_mistakes)))
    with pytest.raises(CommandError, match=r"not a valid policy \(2 problem\(s\)\)"):
        call_command("policy", "check", str(bad))
    err = capsys.readouterr().err
    assert f"{bad}: channels.live_chat.hours[0].close: 25:00 is not a time" in err
    assert f"{bad}: calendar.holidays.country: XX is not a country" in err


def manage_py(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], capture_output=True, text=True, timeout=120
    )


def test_policy_check_exits_non_zero_from_the_shell(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken(lambda d: d.pop("conduct"))))
    result = manage_py("policy", "check", str(bad))
    assert result.returncode != 0
    assert "conduct: Field required" in result.stderr
    good = manage_py("policy", "check", POLICY_FILE)
    assert good.returncode == 0, good.stderr
    assert "valid policy" in good.stdout


def test_start_up_check_passes_for_the_configured_policy():
    assert policy_file_is_valid() == []


def test_start_up_check_reports_a_broken_policy_file(settings, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken(lambda d: d["calendar"].update(time_zone="Nowhere"))))
    settings.IZONIE_POLICY_FILE = bad
    reset_policy_cache()
    errors = policy_file_is_valid()
    assert [e.id for e in errors] == ["policy.E001"]
    assert errors[0].msg == f"{bad}: calendar.time_zone: Nowhere is not an IANA time zone"


def test_start_up_check_reports_a_missing_policy_file(settings, tmp_path):
    settings.IZONIE_POLICY_FILE = tmp_path / "nowhere.yaml"
    reset_policy_cache()
    errors = policy_file_is_valid()
    assert [e.id for e in errors] == ["policy.E001"]
    assert "cannot read the file" in errors[0].msg
