"""The simulator's risk labels come from how members, activities and keys were generated."""

from __future__ import annotations

from datetime import date, timedelta

from multidict import MultiDict

from streams.simulator import Org, SimConfig
from streams.simulator.handlers import Api
from streams.simulator.org import ADMIN_ROLES, CONNECTORS, PERSONAL_DOMAINS, PROMOTED_ROLES
from streams.simulator.routes import SimState

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


FEED_REASONS = {"SSO_BYPASS_LOGIN", "PRIVILEGE_GRANTED", "ADMIN_CREDENTIAL_CREATED",
                "ORPHANED_CREDENTIAL"}


def _key_of(row: dict) -> str:
    return row.get("api_key_id") or row["admin_api_key_id"]


def test_feed_labels_follow_what_the_feed_recorded() -> None:
    state = SimState.build(SimConfig(users=300, seed=3, start_date=TODAY))
    console: set[str] = set()
    for n in range(3):
        churn, _ = state.advance(150, days=1, add=4, remove=8, role_changes=4, promotions=4,
                                 key_changes=2, seed=n)
        console |= set(churn.keys["created"])
    truth = state.truth(usage=False)
    # What the rows say, oldest first: last sign-in and role change per member, keys created
    # (kind, creator) and deleted (a deletion may sort before its creation: same second).
    logins: dict[str, str] = {}
    roles: dict[str, tuple[str | None, str | None]] = {}
    keys: dict[str, tuple[str, str]] = {}
    deleted: set[str] = set()
    for row in state.feed.truth():
        kind = row["type"]
        if kind.endswith("_login_succeeded"):
            logins[row["actor"]["user_id"]] = row["auth_method"]
        elif kind == "claude_user_role_updated":
            roles[row["user_id"]] = (row["previous_role"], row["current_role"])
        elif kind.endswith("api_key_created"):
            keys[_key_of(row)] = (kind.removesuffix("_created"), row["actor"]["user_id"])
        elif kind.endswith("api_key_deleted"):
            deleted.add(_key_of(row))
    sso = any(row["type"] == "sso_login_succeeded" for row in state.feed.truth())
    for user in truth["users"]:
        bypass = sso and logins.get(user["id"]) in ("magic_link", "social")
        assert ("SSO_BYPASS_LOGIN" in user["risks"]) is bypass, user
        before, after = roles.get(user["id"], (None, None))
        granted = after in ADMIN_ROLES and before not in ADMIN_ROLES and user["role"] == after
        assert ("PRIVILEGE_GRANTED" in user["risks"]) is granted, user
    gone = {p["id"] for p in truth["removed"]} | {
        u["id"] for u in truth["users"] if u["deprovisioned"]}
    listed = {record["id"]: record["status"] for record in state.org.api_keys}
    for key in truth["keys"]:
        kind, creator = keys.pop(key["id"])
        active = (listed.get(key["id"]) == "active" if key["id"] in console
                  else key["id"] not in deleted)
        assert (key["kind"], key["created_by"], key["active"]) == (kind, creator, active)
        assert ("ADMIN_CREDENTIAL_CREATED" in key["risks"]) is (
            active and kind in ("api_key", "admin_api_key"))
        assert ("ORPHANED_CREDENTIAL" in key["risks"]) is (active and creator in gone)
    assert not keys, "every key created in the feed is in the truth"
    seen = {r for item in truth["users"] + truth["keys"] for r in item["risks"]}
    assert seen >= FEED_REASONS, "the run raises each feed and key reason"


def test_promotions_grant_admin_roles_and_leave_the_other_churn_alone() -> None:
    plain, promoted = (Org(SimConfig(users=200, seed=2, start_date=TODAY)) for _ in range(2))
    churn = plain.advance(days=1, add=3, remove=3, role_changes=3, seed=1)
    more = promoted.advance(days=1, add=3, remove=3, role_changes=3, promotions=4, seed=1)
    assert [p.id for p in more.added] == [p.id for p in churn.added]
    assert [p.id for p in more.removed] == [p.id for p in churn.removed]
    assert [(p.id, b, a) for p, b, a in more.role_changes[:3]] == [
        (p.id, b, a) for p, b, a in churn.role_changes]
    grants = more.role_changes[3:]
    assert len(grants) == 4
    assert all(b not in ADMIN_ROLES and a in PROMOTED_ROLES and p.role == a
               for p, b, a in grants)
