-- model: stg_call_metrics
-- version: 1
-- materialized: view
-- description: Per-call metrics pivoted to one row per call.
SELECT
  m.call_id,
  MAX(CASE WHEN m.metric_name = 'talk_ratio' THEN m.value END) AS talk_ratio,
  MAX(CASE WHEN m.metric_name = 'customer_talk_share' THEN m.value END) AS customer_talk_share,
  MAX(CASE WHEN m.metric_name = 'longest_monologue_seconds' THEN m.value END) AS longest_monologue_seconds,
  MAX(CASE WHEN m.metric_name = 'customer_questions' THEN m.value END) AS customer_questions,
  MAX(CASE WHEN m.metric_name = 'engaging_questions' THEN m.value END) AS engaging_questions,
  MAX(CASE WHEN m.metric_name = 'utterances' THEN m.value END) AS utterances,
  MAX(CASE WHEN m.metric_name = 'talk_seconds' THEN m.value END) AS talk_seconds
FROM {{ raw("call_metrics") }} AS m
GROUP BY m.call_id
