-- model: stg_sales_qualifications
-- version: 1
-- materialized: view
-- description: Chorus's sales qualification analyses (opt-in stream
-- description: sales_qualifications; empty unless synced): one row per field of
-- description: the framework (section sqf) and per meeting note (notes,
-- description: next_steps) of a call, the value NULL when empty.
SELECT
  q.call_id,
  q.section,
  q.field_id,
  q.field_name,
  UPPER(TRIM(q.framework)) AS framework,
  q.change_type,
  NULLIF(TRIM(q.new_value), '') AS new_value,
  NULLIF(TRIM(q.previous_value), '') AS previous_value,
  q.supporting_quote,
  q.generated_at,
  q.opportunity_id
FROM {{ raw("sales_qualifications") }} AS q
