"""The backup card's process: fires backup schedules on time, prunes, reaps abandoned jobs.

    cron.py    schedule expressions: parse, check, previous and next due time
    store.py   the schedules: a Redis hash, mirrored to a file in the board's home
    fire.py    `Scheduler.tick(now)`: fire what is due, once, whichever scheduler wins
    prune.py   the retention policy, applied after a scheduled backup completes
    reap.py    fail or retry backup jobs whose worker died
    loop.py    `serve(board)`: the card's main loop (`mobo run backup`) over the above

A schedule is a cron expression: 5 fields (minute hour day-of-month month day-of-week),
6 fields with seconds first, an alias (`@hourly`, `@daily`, `@weekly`, `@monthly`,
`@yearly`) or `@every N{s,m,h,d}` (due at every multiple of N since the epoch, so all
schedulers agree on the due times). Times are UTC.

Schedules live in the Redis hash `<ns>:backup:schedules`, mirrored with the due time each
last fired for in `.mobo/backup-schedules.json` (re-seeded into Redis when Redis lost them).

Each tick (`loop.TICK_S`) the scheduler takes every schedule's latest due time at or
before now; when the schedule has not fired for it yet, the scheduler that wins
`SET <ns>:backup:fire:<id>:<due> NX` enqueues the backup. So after downtime a schedule
runs once (for the latest missed time, however many were missed), never once per missed
run, and two schedulers never both fire. After a scheduled backup completes, the
retention policy (`[backup] keep_*`) is applied unless `[backup] prune_after_schedule`
is false.
"""
