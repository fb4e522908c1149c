"""Dagster definitions that run chorus-elt through Dagster Pipes.

One `chorus-elt run` per daily partition extracts the partition's calls from
Chorus, loads them into the warehouse and rebuilds the SQL models. Under
PipesSubprocessClient chorus-elt reads Dagster's context: the partition's time
window becomes its --start/--end, and the raw tables of the selected assets its
--streams. It reports back one materialization per raw table (asset key
["chorus_raw", <stream>]) and per model (["chorus", <model>]) with
dagster/row_count, dagster/table_name and, for raw tables, the rows inserted,
updated and deleted; its log lines; and the asset checks declared below.

    pip install dagster dagster-webserver
    CHORUS_ELT_CONFIG=config.json CHORUS_ELT_WAREHOUSE=duckdb:chorus.duckdb \
        dagster dev -f cmd/internal/pipeline/dagster/example/definitions.py

The Chorus token is read by chorus-elt itself (config `api_token_file`, or
CHORUS_API_TOKEN in the environment Dagster runs in): it never appears here.
"""

import os

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    PipesSubprocessClient,
    multi_asset,
)

CHORUS_ELT = os.environ.get("CHORUS_ELT_BIN", "chorus-elt")
CONFIG = os.environ.get("CHORUS_ELT_CONFIG", "config.json")
WAREHOUSE = os.environ.get("CHORUS_ELT_WAREHOUSE", "duckdb:chorus.duckdb")
START_DATE = os.environ.get("CHORUS_ELT_START_DATE", "2026-01-01")

# The raw tables (schema chorus_raw): one per stream, schemas/<stream>.json.
RAW_STREAMS = [
    "calls",
    "participants",
    "utterances",
    "talk_segments",
    "trackers",
    "tracker_mentions",
    "action_items",
    "call_metrics",
    "sales_qualifications",
    "engagements",
    "users",
    "teams",
    "user_teams",
    "scorecards",
    "scorecard_answers",
]

# The models (schema chorus): one per file sql/<model>.sql.
MODELS = [
    "stg_calls",
    "stg_participants",
    "stg_utterances",
    "stg_action_items",
    "stg_trackers",
    "stg_call_metrics",
    "stg_users",
    "stg_engagements",
    "stg_sales_qualifications",
    "int_customer_domains",
    "int_seller_domains",
    "int_call_participants",
    "int_engagement_people",
    "int_engagement_matches",
    "int_call_matches",
    "int_call_signals",
    "int_call_facts",
    "customer_calls",
    "customer_touchpoints",
    "rep_scorecards",
    "unattached_calls",
    "customer_tasks",
    "int_health_scores",
    "customer_health_weekly",
    "customer_health",
    "customer_momentum",
    "tracker_trends",
    "transcript_search",
]

# The raw tables each staging view reads (for the lineage graph); the other
# models read staging views and one another, and are rebuilt by the same run.
STAGING_SOURCES = {
    "stg_calls": ["calls"],
    "stg_participants": ["participants"],
    "stg_utterances": ["utterances"],
    "stg_action_items": ["action_items"],
    "stg_trackers": ["trackers", "tracker_mentions"],
    "stg_call_metrics": ["call_metrics"],
    "stg_users": ["users"],
    "stg_engagements": ["engagements"],
    "stg_sales_qualifications": ["sales_qualifications"],
}

# The checks chorus-elt reports (Dagster fails a step that reports a check it
# does not declare): each raw table's key is unique; no call is still waiting
# for its transcript; none was given up on (pending_max_hours).
CHECKS = [AssetCheckSpec("no_duplicate_keys", asset=["chorus_raw", s]) for s in RAW_STREAMS] + [
    AssetCheckSpec("no_pending_calls", asset=["chorus_raw", "calls"]),
    AssetCheckSpec("no_abandoned_calls", asset=["chorus_raw", "calls"]),
]

daily = DailyPartitionsDefinition(start_date=START_DATE)


@multi_asset(
    name="chorus_elt",
    specs=[
        AssetSpec(["chorus_raw", stream], group_name="chorus_raw", description=f"chorus_raw.{stream}")
        for stream in RAW_STREAMS
    ]
    + [
        AssetSpec(
            ["chorus", model],
            group_name="chorus",
            description=f"chorus.{model}",
            deps=[["chorus_raw", s] for s in STAGING_SOURCES.get(model, [])],
        )
        for model in MODELS
    ],
    check_specs=CHECKS,
    partitions_def=daily,
    # A subset of the raw tables may be materialized: chorus-elt syncs the
    # streams of the selected raw assets only.
    can_subset=True,
)
def chorus_elt(context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient):
    # The partition's window, [start, end), comes to chorus-elt in the Pipes
    # context: it syncs the calls that started in it and leaves its
    # incremental watermark alone.
    return pipes_subprocess_client.run(
        command=[CHORUS_ELT, "run", "--config", CONFIG, "--warehouse", WAREHOUSE],
        context=context,
    ).get_results()


defs = Definitions(
    assets=[chorus_elt],
    resources={"pipes_subprocess_client": PipesSubprocessClient()},
)
