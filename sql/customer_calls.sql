-- model: customer_calls
-- version: 2
-- depends: stg_calls, int_call_matches, customers, int_call_participants, stg_call_metrics
-- description: One row per call with its customer (NULL when unmatched), how it
-- description: matched, the participants, the deal and the recording link.
WITH people AS (
  SELECT
    call_id,
    COUNT(*) AS participant_count,
    SUM(CASE WHEN is_external THEN 1 ELSE 0 END) AS external_count,
    STRING_AGG(email, '; ' ORDER BY email) AS participant_emails,
    STRING_AGG(name, '; ' ORDER BY name) AS participant_names
  FROM {{ model("int_call_participants") }}
  GROUP BY call_id
)
SELECT
  c.call_id,
  m.customer_id,
  cu.name AS customer_name,
  m.match_method,
  m.match_confidence,
  m.candidate_customers,
  c.title,
  c.started_at,
  CAST(c.started_at AS DATE) AS call_date,
  c.duration_seconds,
  c.engagement_type,
  c.transcript_status,
  c.no_show,
  c.account_id,
  c.account_name,
  c.opportunity_id,
  c.opportunity_name,
  c.deal_stage,
  c.deal_amount,
  c.deal_close_date,
  c.owner_name,
  c.owner_email,
  cu.csm_email,
  cu.csm_name,
  COALESCE(p.participant_count, 0) AS participant_count,
  COALESCE(p.external_count, 0) AS external_count,
  p.participant_emails,
  p.participant_names,
  c.url,
  c.summary,
  COALESCE(mt.engaging_questions, c.num_engaging_questions) AS engaging_questions,
  COALESCE(mt.customer_questions, c.num_customer_questions) AS customer_questions,
  mt.customer_talk_share,
  mt.talk_ratio,
  mt.talk_seconds
FROM {{ model("stg_calls") }} AS c
LEFT JOIN {{ model("int_call_matches") }} AS m ON m.call_id = c.call_id
LEFT JOIN {{ model("customers") }} AS cu ON cu.customer_id = m.customer_id
LEFT JOIN people AS p ON p.call_id = c.call_id
LEFT JOIN {{ model("stg_call_metrics") }} AS mt ON mt.call_id = c.call_id
