-- model: transcript_search
-- version: 3
-- depends: stg_utterances, customer_calls
-- description: Every utterance with its call and customer, for search: link
-- description: points at the moment in the recording (url#t=<seconds>).
-- description: Stored in call order, so that reading one call's transcript
-- description: touches a few row groups (v2). Built on DuckDB in pieces of
-- description: consecutive call ids, each sorted on its own, so the sort
-- description: never holds more than a piece (v3; the rows are unchanged).
SELECT
  u.call_id,
  u.utterance_index,
  c.customer_id,
  c.customer_name,
  c.title AS call_title,
  c.started_at,
  u.speaker_name,
  u.speaker_type,
  u.start_seconds,
  u.duration_seconds,
  u.text,
  CASE
    WHEN c.url IS NULL THEN NULL
    WHEN u.start_seconds IS NULL THEN c.url
    ELSE CONCAT(c.url, '#t=', CAST(CAST(FLOOR(u.start_seconds) AS {{ cast_type("int") }}) AS {{ cast_type("string") }}))
  END AS link
FROM {{ model("stg_utterances") }} AS u
LEFT JOIN {{ model("customer_calls") }} AS c ON c.call_id = u.call_id
WHERE {{ chunk(u.call_id, {{ model("stg_utterances") }}, call_id) }}
ORDER BY u.call_id, u.utterance_index
