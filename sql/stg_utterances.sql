-- model: stg_utterances
-- version: 1
-- materialized: view
-- description: Transcript utterances.
SELECT
  u.call_id,
  u.utterance_index,
  u.speaker_id,
  u.speaker_name,
  COALESCE(u.speaker_type, 'unknown') AS speaker_type,
  u.start_seconds,
  u.duration_seconds,
  u.spoken_at,
  u.word_count,
  u.text,
  u.engaging
FROM {{ raw("utterances") }} AS u
