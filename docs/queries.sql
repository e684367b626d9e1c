-- Example analyst queries on the published tables (see docs/data-dictionary.md).
--
-- Each query starts with a "-- name:" line, then says what it answers. They are plain
-- SQL that runs unchanged on DuckDB (the embedded default) and PostgreSQL, and read
-- only the `published` schema, the one the analysts' role can read. A test runs every
-- one of them against a small fixture warehouse on both (tests/test_queries.py).
--
-- Small numbers: aggregate tables publish counts from 1 to threshold-1 (default 5) as
-- NULL and list them in the row's `suppressed` column. SUM() skips NULLs, so totals
-- built from suppressed cells are lower bounds: the queries count those cells in a
-- `suppressed_cells` column. Queries that count journeys themselves apply the same
-- rule with HAVING COUNT(*) >= 5.

-- name: failure_demand_by_service_this_month
-- Value and failure demand per service in the month of the latest published run
-- (its as-of date), summed over categories.
WITH latest AS (
    SELECT CAST(date_trunc('month', MAX(as_of)) AS DATE) AS month_start
    FROM published.pipeline_run
    WHERE status IN ('succeeded', 'incomplete')
)
SELECT d.service,
       SUM(d.contacts) AS contacts,
       SUM(d.value_contacts) AS value_contacts,
       SUM(d.failure_contacts) AS failure_contacts,
       ROUND(CAST(1.0 * SUM(d.failure_contacts) / NULLIF(SUM(d.contacts), 0) AS NUMERIC), 3) AS failure_share,
       SUM(CASE WHEN COALESCE(d.suppressed, '') <> '' THEN 1 ELSE 0 END) AS suppressed_cells
FROM published.measure_demand AS d
JOIN latest ON d.period_start = latest.month_start
WHERE d.period_type = 'month'
GROUP BY d.service
ORDER BY failure_contacts DESC NULLS LAST, d.service;

-- name: capability_highways_potholes
-- The capability (XmR) chart of Highways / Pothole: each met journey in the window in
-- order of completion, with the centre line, the natural process limits and signals.
SELECT p.seq,
       p.journey_id,
       p.ended_at,
       ROUND(CAST(p.e2e_days AS NUMERIC), 2) AS e2e_days,
       ROUND(CAST(c.mean_days AS NUMERIC), 2) AS mean_days,
       ROUND(CAST(c.lnpl AS NUMERIC), 2) AS lnpl,
       ROUND(CAST(c.unpl AS NUMERIC), 2) AS unpl,
       p.above_unpl,
       p.in_run
FROM published.measure_capability AS c
JOIN published.measure_capability_point AS p
  ON p.service = c.service AND p.category = c.category
WHERE c.service = 'Highways'
  AND c.category = 'Pothole'
  AND c.mean_days IS NOT NULL  -- a suppressed chart is not shown
ORDER BY p.seq;

-- name: journeys_open_over_90_days
-- Needs still open more than 90 days after they started, oldest first.
SELECT journey_id,
       service,
       category,
       started_at,
       ROUND(CAST(e2e_days AS NUMERIC), 1) AS age_days,
       contacts,
       failure_contacts,
       handoffs,
       teams
FROM published.journey
WHERE status = 'open'
  AND e2e_days > 90
ORDER BY e2e_days DESC, journey_id;

-- name: top_handoff_sequences
-- The most common paths through teams (consecutive events of the same team count
-- once), among journeys with at least one hand-off; paths taken by fewer than 5
-- journeys are not shown.
WITH teamed AS (
    SELECT journey_id,
           seq,
           team,
           LAG(team) OVER (PARTITION BY journey_id ORDER BY seq) AS previous_team
    FROM published.journey_event
    WHERE team IS NOT NULL
),
paths AS (
    SELECT journey_id,
           string_agg(team, ' > ' ORDER BY seq) AS team_path,
           COUNT(*) - 1 AS handoffs
    FROM teamed
    WHERE previous_team IS NULL OR previous_team <> team
    GROUP BY journey_id
)
SELECT j.service,
       p.team_path,
       MIN(p.handoffs) AS handoffs,
       COUNT(*) AS journeys
FROM paths AS p
JOIN published.journey AS j ON j.journey_id = p.journey_id
WHERE p.handoffs > 0
GROUP BY j.service, p.team_path
HAVING COUNT(*) >= 5
ORDER BY journeys DESC, j.service, p.team_path
LIMIT 20;

-- name: failure_demand_by_channel_last_13_weeks
-- Failure demand by channel per service over the 13 ISO weeks up to the latest run.
WITH latest AS (
    SELECT CAST(MAX(as_of) - INTERVAL '91 days' AS DATE) AS since
    FROM published.pipeline_run
    WHERE status IN ('succeeded', 'incomplete')
)
SELECT d.service,
       d.channel,
       SUM(d.contacts) AS contacts,
       SUM(d.failure_contacts) AS failure_contacts,
       SUM(CASE WHEN COALESCE(d.suppressed, '') <> '' THEN 1 ELSE 0 END) AS suppressed_cells
FROM published.measure_demand_channel AS d
JOIN latest ON d.period_start >= latest.since
WHERE d.period_type = 'week'
GROUP BY d.service, d.channel
ORDER BY d.service, failure_contacts DESC NULLS LAST, d.channel;

-- name: work_in_progress_by_age_band
-- Open journeys per service and age band at the latest run.
SELECT service,
       age_band,
       SUM(open_journeys) AS open_journeys,
       SUM(CASE WHEN open_journeys IS NULL THEN 1 ELSE 0 END) AS suppressed_cells
FROM published.measure_wip
GROUP BY service, age_band
ORDER BY service, age_band;

-- name: first_contact_resolution_by_month
-- First-contact resolution and share clean of journeys met, per service, category and
-- month (NULL where the number of journeys met was too small to publish).
SELECT service,
       category,
       period,
       journeys_met,
       ROUND(CAST(first_contact_resolution AS NUMERIC), 3) AS first_contact_resolution,
       ROUND(CAST(share_clean AS NUMERIC), 3) AS share_clean,
       ROUND(CAST(avg_handoffs AS NUMERIC), 2) AS avg_handoffs
FROM published.measure_flow
WHERE period_type = 'month'
ORDER BY service, category, period;

-- name: latest_runs
-- The last ten pipeline runs: what they covered and how they ended.
SELECT run_id,
       as_of,
       status,
       validation_outcome,
       rows_read,
       rows_quarantined,
       missing_sources,
       data_docs_path
FROM published.pipeline_run
ORDER BY started_at DESC
LIMIT 10;
