import copy

import pytest
import yaml
from django.core.management import CommandError, call_command

from policy.checks import policy_file_is_valid
from policy.loader import PolicyError, load_policy_file, parse_policy, reset_policy_cache

with open("policies/izonie.yaml") as handle:
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
    policy = load_policy_file("policies/izonie.yaml")
    assert [c.name for c in policy.categories] == [
        "Order Status",
        "Payments",
        "Technical Support",
        "Returns",
        "Seller Support",
    ]
    assert policy.channels["email"].address == "support@izonie.com"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["channels"]["live_chat"]["hours"][0].update(close="25:00"),
            "channels.live_chat.hours[0].close: 25:00 is not a time",
        ),
        (
            lambda d: d["channels"]["live_chat"]["hours"][0].update(open="21:00"),
            "channels.live_chat.hours[0]: close 20:00 is not after open 21:00",
        ),
        (
            lambda d: d["response_targets"][0].update(target="0 minutes"),
            "response_targets[0].target.amount: 0 must be greater than zero",
        ),
        (
            lambda d: d["response_targets"][0].update(target="-2 minutes"),
            "response_targets[0].target: '-2 minutes' is not a duration",
        ),
        (
            lambda d: d["response_targets"][0].update(target="10 minutes"),
            "response_targets[0]: breach 5 minutes is before target 10 minutes",
        ),
        (
            lambda d: d["response_targets"][0]["applies_to"].update(channels=["pigeon"]),
            "response_targets[0].applies_to.channels: unknown channel 'pigeon'",
        ),
        (
            lambda d: d["response_targets"][0]["applies_to"].update(categories=["gardening"]),
            "response_targets[0].applies_to.categories: unknown category 'gardening'",
        ),
        (
            lambda d: d["categories"][0].update(team="nobody"),
            "categories[0].team: unknown team 'nobody'",
        ),
        (
            lambda d: d["calendar"].update(time_zone="Mars/Olympus"),
            "calendar.time_zone: Mars/Olympus is not an IANA time zone",
        ),
        (
            lambda d: d["calendar"]["holidays"].update(country="XX"),
            "calendar.holidays.country: XX is not a country the holidays package knows",
        ),
        (lambda d: d.pop("escalation"), "escalation: Field required"),
        (
            lambda d: d["channels"]["email"].update(colour="blue"),
            "channels.email.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_broken_policies_name_the_field(change, expected):
    problems = problems_of(broken(change))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_file_that_is_not_a_mapping_or_not_yaml(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(PolicyError, match="mapping of policy sections"):
        load_policy_file(listing)
    garbage = tmp_path / "bad.yaml"
    garbage.write_text("channels: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy_file(garbage)
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy_file(tmp_path / "missing.yaml")


def test_policy_check_command(tmp_path, capsys):
    call_command("policy", "check", "policies/izonie.yaml")
    assert "valid policy v1 for Izonie" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    data = broken(lambda d: d["channels"]["live_chat"]["hours"][0].update(close="25:00"))
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(CommandError, match="not a valid policy"):
        call_command("policy", "check", str(bad))
    assert "channels.live_chat.hours[0].close: 25:00 is not a time" in capsys.readouterr().err


def test_start_up_check_reports_a_broken_policy_file(settings, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken(lambda d: d["calendar"].update(time_zone="Nowhere"))))
    settings.IZONIE_POLICY_FILE = bad
    reset_policy_cache()
    errors = policy_file_is_valid()
    assert [e.id for e in errors] == ["policy.E001"]
    assert "calendar.time_zone: Nowhere is not an IANA time zone" in errors[0].msg
