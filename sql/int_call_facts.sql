-- model: int_call_facts
-- version: 2
-- depends: customer_calls, int_call_signals
-- description: Per attached call, the health and momentum inputs: whether it
-- description: took place (no_show) and has a transcript (transcript_status
-- description: complete: its trackers were read), talk time, the customer's
-- description: share of it, engaging questions and signal mentions by category
-- description: (v2: no_show, has_transcript).
WITH signals AS (
  SELECT
    call_id,
    SUM(CASE WHEN category = 'competitor' THEN mentions ELSE 0 END) AS competitor_mentions,
    SUM(CASE WHEN category = 'pricing' THEN mentions ELSE 0 END) AS pricing_mentions,
    SUM(CASE WHEN category = 'objection' THEN mentions ELSE 0 END) AS objection_mentions,
    SUM(CASE WHEN category = 'next_step' THEN mentions ELSE 0 END) AS next_step_mentions,
    SUM(CASE WHEN category = 'risk' THEN mentions ELSE 0 END) AS risk_mentions,
    SUM(CASE WHEN category = 'feature_request' THEN mentions ELSE 0 END) AS feature_request_mentions
  FROM {{ model("int_call_signals") }}
  GROUP BY call_id
)
SELECT
  c.call_id,
  c.customer_id,
  c.started_at,
  COALESCE(c.no_show, FALSE) OR COALESCE(c.transcript_status = 'no_show', FALSE) AS no_show,
  COALESCE(c.transcript_status = 'complete', FALSE) AS has_transcript,
  c.talk_seconds,
  c.customer_talk_share,
  COALESCE(c.engaging_questions, 0) AS engaging_questions,
  COALESCE(s.competitor_mentions, 0) AS competitor_mentions,
  COALESCE(s.pricing_mentions, 0) AS pricing_mentions,
  COALESCE(s.objection_mentions, 0) AS objection_mentions,
  COALESCE(s.next_step_mentions, 0) AS next_step_mentions,
  COALESCE(s.risk_mentions, 0) AS risk_mentions,
  COALESCE(s.feature_request_mentions, 0) AS feature_request_mentions
FROM {{ model("customer_calls") }} AS c
LEFT JOIN signals AS s ON s.call_id = c.call_id
WHERE c.customer_id IS NOT NULL
