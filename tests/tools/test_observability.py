"""The dashboard and the alert rules only name metrics the services export (names cannot drift)."""
from __future__ import annotations

import json
import re

import yaml

from tests.tools.runner import ROOT

OBSERVABILITY = ROOT / "deploy" / "observability"
# Envoy's own statistics, scraped from its admin port.
ENVOY = re.compile(r"^envoy_")


def exported() -> set[str]:
    """Every sample name the services' registries hold (counters with _total, histograms' series)."""
    from prometheus_client import REGISTRY

    import appointment_svc.adapters.metrics  # noqa: F401 - registers the appointment service's metrics
    import mesh_common.metrics  # noqa: F401 - and the RPC metrics both share
    import notification_svc.metrics  # noqa: F401 - and the notification service's

    names = set()
    for family in REGISTRY.collect():
        names |= {family.name, f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count", f"{family.name}_sum"}
    return names


def named_in(expression: str) -> set[str]:
    return set(re.findall(r"\b(booking_[a-z_]+|envoy_[a-z_]+)\b", expression))


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_dashboard_and_the_rules_name_only_exported_metrics():
    names = set().union(*(named_in(e) for e in dashboard_expressions() + rule_expressions()))
    ours = {n for n in names if not ENVOY.match(n)}
    assert ours and ours <= exported(), sorted(ours - exported())


def test_the_alerts_cover_what_an_operator_must_hear_about():
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())["groups"][0]["rules"]
    watched = {name for rule in rules for name in named_in(rule["expr"])}
    for metric in ("booking_outbox_oldest_age_seconds", "booking_events_dead_lettered_total", "booking_rpc_requests_total",
                   "booking_consumer_pending", "booking_booking_events_total"):  # fmt: skip
        assert metric in watched
    assert all(rule["annotations"]["summary"] and rule["annotations"]["description"] for rule in rules)


def test_every_dashboard_panel_has_a_title_and_a_query():
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and all(panel["title"] and panel["targets"] for panel in dashboard["panels"])
