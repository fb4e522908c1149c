-- model: stg_engagements
-- version: 1
-- materialized: view
-- description: Every engagement the listing returned — recorded calls, emails,
-- description: content views, unrecorded meetings — with the CRM account id and
-- description: name normalised for customer matching.
SELECT
  e.engagement_id,
  e.engagement_type,
  (e.engagement_type IN ('meeting', 'dialer')) AS is_call,
  e.subject,
  e.started_at,
  e.duration_seconds,
  e.account_id,
  e.account_name,
  NULLIF(LOWER(TRIM(e.account_id)), '') AS account_id_norm,
  NULLIF({{ normalize_name(e.account_name) }}, '') AS account_name_norm,
  e.opportunity_id,
  e.owner_user_id,
  e.owner_name,
  LOWER(e.owner_email) AS owner_email,
  e.url,
  e.participant_emails
FROM {{ raw("engagements") }} AS e
