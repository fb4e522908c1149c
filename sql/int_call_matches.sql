-- model: int_call_matches
-- version: 2
-- materialized: view
-- depends: int_engagement_matches
-- description: The customer of each recorded call that matches one (the rules
-- description: are int_engagement_matches').
SELECT
  engagement_id AS call_id,
  customer_id,
  match_method,
  match_confidence,
  match_votes,
  candidate_customers
FROM {{ model("int_engagement_matches") }}
WHERE is_call
