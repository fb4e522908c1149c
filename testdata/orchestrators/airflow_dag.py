"""Airflow DAG that runs chorus-elt once per daily data interval.

Each run syncs the calls that started in its data interval
[data_interval_start, data_interval_end) — `chorus-elt run --start … --end …`
leaves the incremental watermark alone, so back-fills and re-runs of old
intervals are safe — loads them into the warehouse and rebuilds the models.

BashOperator pushes the last line of the command's output to XCom: chorus-elt
prints its JSON summary last, after every log line. An interval in which
nothing new was found exits 99, which BashOperator marks as skipped.

The Chorus token comes from the Airflow connection `chorus` (its password) in
the environment variable CHORUS_API_TOKEN: it is never on the command line.
The syntax of this file is checked by the Go tests (python3 -m py_compile).
"""

from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

CHORUS_ELT = "chorus-elt"  # the binary on the workers' PATH
CONFIG = "{{ var.value.get('chorus_elt_config', '/opt/chorus-elt/config.json') }}"
WAREHOUSE = "{{ var.value.get('chorus_elt_warehouse', 'duckdb:/data/chorus.duckdb') }}"

with DAG(
    dag_id="chorus_elt",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=True,
    # One run at a time: runs share the warehouse (a DuckDB file has one writer).
    max_active_runs=1,
    default_args={
        # chorus-elt retries requests itself; a task retry covers the rest
        # (an interrupted run resumes what it had extracted).
        "retries": 3,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=2),
    },
    tags=["chorus"],
) as dag:
    BashOperator(
        task_id="run",
        bash_command=(
            f"{CHORUS_ELT} --log-format json run"
            f" --config {CONFIG} --warehouse {WAREHOUSE}"
            " --start {{ data_interval_start.isoformat() }}"
            " --end {{ data_interval_end.isoformat() }}"
            " --skip-exit-code 99"
        ),
        env={"CHORUS_API_TOKEN": "{{ conn.chorus.password }}"},
        append_env=True,  # keep PATH, HOME and the rest of the worker's environment
        skip_on_exit_code=99,
        do_xcom_push=True,  # the JSON summary (last line) goes to XCom
    )
