-- model: stg_calls
-- version: 2
-- materialized: view
-- description: One row per call from raw calls, with the CRM account id and
-- description: name normalised for customer matching.
SELECT
  c.call_id,
  c.engagement_type,
  c.title,
  c.started_at,
  c.duration_seconds,
  c.language,
  c.no_show,
  c.transcript_status,
  c.account_id,
  c.account_name,
  NULLIF(LOWER(TRIM(c.account_id)), '') AS account_id_norm,
  NULLIF({{ normalize_name(c.account_name) }}, '') AS account_name_norm,
  c.opportunity_id,
  c.opportunity_name,
  c.deal_stage,
  c.deal_amount,
  c.deal_close_date,
  c.account_type,
  c.owner_user_id,
  c.owner_name,
  LOWER(c.owner_email) AS owner_email,
  c.url,
  c.summary,
  c.num_customer_questions,
  c.num_engaging_questions,
  c.utterance_count,
  c._extracted_at,
  c._sync_id
FROM {{ raw("calls") }} AS c
