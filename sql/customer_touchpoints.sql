-- model: customer_touchpoints
-- version: 1
-- depends: stg_engagements, int_engagement_matches, customers
-- description: Every engagement with a customer, of every type — recorded
-- description: calls, emails, content views, unrecorded meetings — matched by
-- description: the same rules as calls (int_engagement_matches); customer_id is
-- description: NULL when no rule finds one. The health and momentum models
-- description: count the emails among them as touchpoints.
SELECT
  e.engagement_id,
  e.engagement_type,
  e.is_call,
  m.customer_id,
  cu.name AS customer_name,
  m.match_method,
  m.match_confidence,
  e.subject,
  e.started_at,
  CAST(e.started_at AS DATE) AS touch_date,
  e.duration_seconds,
  e.owner_name,
  e.owner_email,
  e.account_id,
  e.account_name,
  e.url
FROM {{ model("stg_engagements") }} AS e
LEFT JOIN {{ model("int_engagement_matches") }} AS m ON m.engagement_id = e.engagement_id
LEFT JOIN {{ model("customers") }} AS cu ON cu.customer_id = m.customer_id
