-- model: stg_users
-- version: 2
-- materialized: view
-- description: The seller's Chorus users; team_id is the user's primary team (every team: user_teams).
SELECT
  u.user_id,
  u.name,
  NULLIF(LOWER(TRIM(u.email)), '') AS email,
  u.role,
  u.title,
  u.manager_id,
  {{ cast(u.primary_team_id, "string") }} AS team_id,
  u.team_ids,
  u.active
FROM {{ raw("users") }} AS u
