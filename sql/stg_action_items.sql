-- model: stg_action_items
-- version: 1
-- materialized: view
-- description: Action items from the API (source chorus) or derived from the transcript (source derived).
SELECT
  a.call_id,
  a.item_index,
  TRIM(a.text) AS text,
  COALESCE(a.source, 'chorus') AS source,
  a.owner_hint,
  NULLIF(TRIM(a.due_hint), '') AS due_hint,
  a.utterance_index,
  a.utterance_start_seconds
FROM {{ raw("action_items") }} AS a
WHERE a.text IS NOT NULL AND TRIM(a.text) <> ''
