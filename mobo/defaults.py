"""Every tunable of the board as a named constant with its unit.

Values here are defaults; `mobo.toml` and `MOBO_<SECTION>_<KEY>` override the ones
that appear in the config schema (`mobo.kernel.config.SCHEMA`).
"""

from __future__ import annotations

CONFIG_FILE = "mobo.toml"
HOME_ENV = "MOBO_HOME"
ENV_PREFIX = "MOBO_"
STATE_DIR = ".mobo"  # below the board's home: run/, logs/, programs/, state
SECRETS_FILE = "secrets.toml"  # below STATE_DIR, mode 0600
SECRET_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

# Redis / bus
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_CONNECT_TIMEOUT_S = 1.0
REDIS_SOCKET_TIMEOUT_S = 5.0
BUS_HISTORY_MAXLEN = 10_000  # events kept in the capped history stream
BUS_HANDLER_TIMEOUT_S = 5.0  # a handler slower than this is logged as slow
BUS_HANDLER_THREADS = 4  # worker threads per process that run bus handlers
BUS_QUEUE_MAX = 10_000  # events waiting for handlers in one process before dropping

# Cards and processes
HEARTBEAT_INTERVAL_S = 5.0
HEARTBEAT_TTL_S = 15
NOT_READY_BACKOFF_BASE_S = 5.0  # HA's 2 ** min(tries, 4) * 5 s, plus jitter
NOT_READY_BACKOFF_MAX_EXP = 4
EXIT_FATAL = 78  # EX_CONFIG: supervisor is told not to restart on it
STOP_WAIT_S = 10  # graceful stop before SIGKILL

# Health monitor and self-healing
HEALTH_INTERVAL_S = 30.0  # between two rounds of checks
HEALTH_TIMEOUT_S = 5.0  # one check may take this long
HEALTH_RETRIES = 1  # a failed check is retried this often within a round
HEALTH_FAILURE_THRESHOLD = 3  # failed rounds in a row before a card is `failed`
HEALTH_RECOVERY_THRESHOLD = 2  # good rounds in a row before a card is `healthy` again
RESTART_BASE_S = 5.0  # first self-healing restart waits this long after the last one
RESTART_FACTOR = 2.0  # each further restart in the window waits this much longer
RESTART_MAX = 5  # restarts within the window before a card is left stopped
RESTART_WINDOW_S = 600.0

# Boot
BOOT_CARD_TIMEOUT_S = 20.0  # how long a card may take to report healthy
BOOT_POLL_INTERVAL_S = 0.02
SUPERVISOR_START_TIMEOUT_S = 10.0

# Gateway
GATEWAY_HOST = "127.0.0.1"
GATEWAY_PORT = 8000
GATEWAY_WORKERS = 2
GATEWAY_THREADS = 4
GATEWAY_TRUSTED_PROXIES = ("127.0.0.1", "::1")  # peers whose X-Forwarded-For is believed
GATEWAY_CORS_ORIGINS = ("*",)  # browsers send keys in headers, never cookies: * is safe
GATEWAY_CORS_MAX_AGE_S = 86400  # how long a browser may cache a preflight answer
GATEWAY_REQUEST_EVENTS = "publish"  # api.request: off, publish, or publish + history stream
GATEWAY_EVENT_QUEUE = 10_000  # api.request events waiting per worker before dropping
GATEWAY_METRICS = "service_role"  # who may read /metrics
GATEWAY_SCHEMA_CHECK_S = 2.0  # how often each worker looks for DDL (0: never)
GATEWAY_PARSE_CACHE = 1024  # parsed REST requests each worker remembers (LRU)

# Rate limits (GCRA): "<count>/<period>[ burst <n>]", "" or "off" for none
RATE_LIMIT_REST_IP = "100/1s burst 200"
RATE_LIMIT_REST_KEY = "1000/1s burst 2000"
RATE_LIMIT_AUTH_IP = "150/5m burst 30"  # GoTrue's token limit, per auth path
RATE_LIMIT_AUTH_KEY = ""
RATE_LIMIT_REALTIME_IP = "100/1s burst 200"
RATE_LIMIT_REALTIME_KEY = "1000/1s burst 2000"
RATE_LIMIT_DEFAULT_IP = "100/1s burst 200"
RATE_LIMIT_DEFAULT_KEY = ""
RATE_LIMIT_BLOCK_MAX = 64  # most requests of a bucket a worker reserves in one Redis call
RATE_LIMIT_BLOCK_SHARE = 32  # ... and at most burst / this (a burst under 64: one at a time)
RATE_LIMIT_LEASE_S = 0.25  # reserved requests not used within this are dropped

# Worker
WORKER_QUEUES = ("default", "backup", "sentinel")

# Cache
CACHE_TTL_S = 60

# Logs
LOG_LEVEL = "info"
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5

# State
STATE_FILE = "state.json"
