"""The simulator's risk labels come from how members were generated."""

from __future__ import annotations

from datetime import date, timedelta

from multidict import MultiDict

from streams.simulator import Org, SimConfig
from streams.simulator.handlers import Api
from streams.simulator.org import CONNECTORS, PERSONAL_DOMAINS

TODAY = date(2026, 11, 20)


def test_risks_follow_the_generated_traits() -> None:
    org = Org(SimConfig(users=400, seed=9, start_date=TODAY, unmanaged_fraction=0.2))
    managed = org.managed_connectors
    assert 0 < len(managed) < len(CONNECTORS), "some connectors on managed auth, some not"
    latest = org.latest_analytics_date
    truth = org.truth(since=latest - timedelta(days=13), usage=False)
    seen = {reason for user in truth["users"] for reason in user["risks"]}
    assert seen == {"UNMANAGED_IDENTITY", "PERSONAL_DOMAIN", "DEPROVISIONED_ACTIVE",
                    "PERSONAL_CREDENTIAL_CONNECTOR"}
    for user in truth["users"]:
        person = org.by_id[user["id"]]
        assert ("UNMANAGED_IDENTITY" in user["risks"]) is (not person.managed)
        assert ("PERSONAL_DOMAIN" in user["risks"]) is (
            person.email.rsplit("@", 1)[1] in PERSONAL_DOMAINS)
        assert ("DEPROVISIONED_ACTIVE" in user["risks"]) is person.deprovisioned
        if "PERSONAL_CREDENTIAL_CONNECTOR" in user["risks"]:
            assert any(individual and c in managed for c, individual in person.traits.connectors)


def test_connectors_off_managed_auth_have_no_managed_users() -> None:
    org = Org(SimConfig(users=300, seed=4, start_date=TODAY))
    since = org.latest_analytics_date - timedelta(days=13)
    query = MultiDict(starting_date=since.isoformat(), limit="1000")
    rows = Api(org).connectors(query)["data"]
    managed = {CONNECTORS[n][0] for n in org.managed_connectors}
    off = [row for row in rows if row["connector_name"] not in managed]
    on = [row for row in rows if row["connector_name"] in managed]
    assert off and on, "rows for connectors on and off managed auth"
    assert all(row["managed_auth_distinct_user_count"] == 0 for row in off)
    assert all(row["individual_auth_distinct_user_count"] == row["distinct_user_count"]
               for row in off)
    assert any(row["managed_auth_distinct_user_count"] for row in on)
    for n in range(len(CONNECTORS)):
        assert org.individual_auth(n, False) is (n not in org.managed_connectors)
        assert org.individual_auth(n, True) is True
