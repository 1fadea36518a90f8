"""Service configuration from environment variables (``REELFORGE_*``) and ``.env``.

The defaults run everything on one machine with nothing to install: SQLite and files under
``./data``, renders in a worker inside the server process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    """Where the SQLite database, stored media and secrets live."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/reelforge.db``. PostgreSQL:
    ``postgresql+psycopg://user@host/db``."""
    storage_dir: Path | None = None
    """Where asset bytes go; default ``<data_dir>/storage``."""
    storage_backend: Literal["local", "s3"] = "local"
    """``local``: asset bytes are files under ``storage_dir``. ``s3``: objects in an S3-compatible
    bucket (``s3_*`` settings), shared by every API and worker process; each process keeps the
    sources it renders in a bounded local cache (``cache_dir``, ``cache_max_bytes``)."""
    s3_bucket: str = ""
    """The bucket holding assets, previews and outputs (``storage_backend=s3``)."""
    s3_prefix: str = ""
    """Key prefix inside the bucket (``reelforge/prod``), so one bucket can serve several installations."""
    s3_endpoint_url: str | None = None
    """None: AWS S3; else the store's URL (``http://127.0.0.1:9000`` for MinIO)."""
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_session_token: SecretStr | None = None
    s3_path_style: bool = False
    """Address the bucket as ``endpoint/bucket/key`` (MinIO and most self-hosted stores)."""
    s3_download: Literal["redirect", "stream"] = "redirect"
    """How the API answers a download from S3: ``redirect`` (307 to a presigned URL; the store
    serves the bytes and Range itself) or ``stream`` (the API relays the bytes, ranged GETs)."""
    s3_presign_seconds: int = Field(900, ge=10, le=7 * 24 * 3600)
    """How long a presigned download URL stays valid."""
    s3_multipart_threshold: int = Field(64 * 1024**2, ge=5 * 1024**2)
    """Objects at least this large are uploaded in parts (each ``s3_multipart_chunk`` bytes)."""
    s3_multipart_chunk: int = Field(16 * 1024**2, ge=5 * 1024**2)
    cache_dir: Path | None = None
    """Where an S3-backed process keeps downloaded sources and its scratch files; default
    ``<data_dir>/cache``. Processes on one machine may share it."""
    cache_max_bytes: int = Field(10 * 1024**3, ge=0)
    """Bytes of downloaded sources the cache keeps; the least recently used go first."""
    workers: int = Field(1, ge=0, le=64)
    """Renders run at once by the in-process worker (0: none; another process runs them).
    Ignored with ``queue=celery``: ``reelforge worker`` processes run them."""
    max_upload_bytes: int = Field(2 * 1024**3, ge=1024)
    max_upload_patch_bytes: int = Field(128 * 1024**2, ge=1024)
    """Largest body of one tus request (``PATCH /v1/uploads/{id}``, or a creation carrying bytes):
    clients send bigger files in chunks (the CLI sends 50 MiB). The whole upload is bounded by
    ``max_upload_bytes`` (``Tus-Max-Size``)."""
    max_open_uploads: int = Field(100, ge=1)
    """Unfinished tus uploads a workspace may hold at once (422 ``limit-exceeded`` beyond)."""
    max_json_body_bytes: int = Field(1024**2, ge=1024)
    """Largest request body of most routes (413 ``content-too-large`` beyond, before it is read)."""
    max_edit_body_bytes: int = Field(5 * 1024**2, ge=1024)
    """Largest body of routes that carry edits (projects, renders, templates, batches)."""
    max_media_duration: float = Field(4 * 3600, gt=0)
    """Longest media accepted on upload, seconds."""
    max_render_attempts: int = Field(3, ge=1, le=10)
    """A render interrupted by a restart is retried from the start this many times in all."""
    render_timeout: float = Field(6 * 3600, gt=0)
    worker_name: str | None = Field(None, max_length=100)
    """A stable name for this process's worker, so after a crash a restart takes its renders back
    at once instead of waiting for their heartbeat to go stale. Unique per process."""
    worker_heartbeat_interval: float = Field(5.0, gt=0, le=300)
    """Seconds between a render worker's heartbeats in the ``worker_heartbeats`` table."""
    worker_stale_after: float = Field(30.0, gt=0, le=3600)
    """A worker whose last heartbeat is older than this (seconds) and that did not say it stopped
    is reported ``stale`` by ``/readyz`` (it crashed or hangs)."""
    readyz_requires_worker: bool = False
    """Answer 503 on ``/readyz`` while no live worker exists anywhere in the installation, also
    in a process that runs none itself (one that does always needs its own to be live)."""
    metrics_top_workspaces: int = Field(10, ge=0, le=100)
    """``/metrics`` labels the queue depth and running renders of this many workspaces (the
    busiest, by name) and adds up the rest as ``(other)``: the label's cardinality is bounded."""
    metrics_enabled: bool = True
    """Count HTTP requests for ``/metrics`` (the other metrics cost nothing measurable)."""
    cors_origins: list[str] = []
    log_format: str = Field("auto", pattern="^(auto|console|json)$")
    """``json``: one JSON object per line; ``console``: readable lines; ``auto`` (default):
    console on a terminal, JSON lines otherwise (a service manager, a container, a pipe)."""
    tracing_endpoint: str | None = None
    """OTLP/HTTP endpoint receiving this process's spans (``http://collector:4318/v1/traces``);
    unset: no tracing. Needs ``pip install 'reelforge[tracing]'``."""
    tracing_service_name: str = Field("reelforge", min_length=1, max_length=100)
    """``service.name`` of the spans."""
    public_url: str = "http://127.0.0.1:8000"
    """The URL clients reach the API at (used in Link headers and printed examples)."""
    token_ttl: int = Field(900, ge=60, le=86400)
    """Lifetime of OAuth access tokens, seconds."""
    key_environment: str = Field("live", pattern="^(live|test)$")
    refresh_token_ttl: int = Field(30 * 86400, ge=3600, le=365 * 86400)
    """Lifetime of connected apps' refresh tokens, seconds (each refresh starts a new one)."""
    authorization_code_ttl: int = Field(60, ge=10, le=600)
    """Seconds an authorization code may wait to be exchanged (used once)."""
    session_idle_timeout: int = Field(30 * 60, ge=60)
    """A console session unused this long (seconds) is over."""
    session_absolute_timeout: int = Field(12 * 3600, ge=300)
    """A console session is over this long (seconds) after sign-in, used or not."""
    invitation_ttl: int = Field(7 * 86400, ge=300)
    """Seconds an invitation link stays valid (it is used once)."""
    smtp_host: str | None = None
    """An SMTP relay: when set, an invitation is e-mailed (its link is then not in the answer)."""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in and sending (ignored with ``smtp_ssl``)."""
    smtp_ssl: bool = False
    """Implicit TLS from the first byte (usually port 465)."""
    smtp_ca_file: Path | None = None
    """Certificates to trust for the relay's TLS, besides the system's."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field("reelforge@localhost", max_length=320)
    """The ``From`` address of the e-mails."""
    smtp_timeout: float = Field(10.0, gt=0, le=300)
    """Seconds to wait for the relay before an invitation is refused with 503."""
    sign_in_max_failures: int = Field(5, ge=1, le=100)
    """Wrong passwords in a row after which the account is locked for ``sign_in_lockout``."""
    sign_in_lockout: int = Field(15 * 60, ge=1)
    """Seconds an account stays locked after too many wrong passwords."""
    sign_in_attempts: int = Field(10, ge=1)
    """Password sign-in attempts allowed per client address in ``sign_in_window`` seconds."""
    sign_in_window: int = Field(60, ge=1)
    oidc_issuer: str | None = None
    """The company's OpenID Connect provider (its issuer URL; discovery reads
    ``<issuer>/.well-known/openid-configuration``); unset: no single sign-on."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    """This client's secret at the provider (kept out of logs and reprs); unset: a public client."""
    oidc_workspace: str | None = None
    """The workspace people signing in with single sign-on become members of."""
    oidc_groups_claim: str = "groups"
    """The ID token claim listing the person's groups."""
    oidc_group_roles: dict[str, str] = {}
    """Group -> role (``{"marketing-reviewers": "reviewer"}``); a person gets the highest role
    of their groups, and is refused when none of their groups is mapped. JSON in the environment."""
    trusted_proxies: list[str] = []
    """Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; from anyone else these headers are ignored."""
    hsts_max_age: int = Field(365 * 86400, ge=0)
    """``Strict-Transport-Security`` max-age sent on HTTPS responses (0: no header)."""
    rate_limiting: bool = True
    """Apply the request rate limits (``rate_limits``) to ``/v1`` routes."""
    rate_limits: dict[str, str | None] = {}
    """Overrides of the default rate-limit policies, by name (``reads``, ``writes``, ``renders``
    per credential; ``workspace-reads``, ``workspace-writes``, ``workspace-renders`` per
    workspace): a rate such as ``"600/minute"`` or ``"100/10s"``, or ``"off"``. JSON in the
    environment: ``REELFORGE_RATE_LIMITS='{"reads": "300/minute"}'``."""
    redis_url: str | None = None
    """Redis shared by every API process for rate limits (``redis://host:6379/0``); unset: each
    process limits on its own."""
    redis_prefix: str = Field("reelforge:", max_length=100)
    """Prefix of every Redis key Reelforge writes."""
    limit_timeline_seconds: float = Field(3 * 3600, gt=0)
    """Per-request limits (each workspace's defaults; an operator overrides them per workspace):
    the longest timeline, seconds. Checked when an edit is validated (422 ``limit-exceeded``)."""
    limit_clips: int = Field(1000, ge=1)
    """Clips of one edit, all tracks together."""
    limit_tracks: int = Field(100, ge=1)
    limit_outputs: int = Field(20, ge=1, le=20)
    """Files one render makes (the edit language allows 20)."""
    limit_output_seconds: float = Field(12 * 3600, gt=0)
    """The durations of one render's outputs added up, seconds."""
    limit_output_pixel_frames: float = Field(5e11, gt=0)
    """Width x height x frames of one render's outputs added up (5e11: about two hours of 1080p
    at 30 fps)."""
    limit_storage_bytes: int = Field(0, ge=0)
    """Bytes of assets one workspace may store (0: no quota); an upload past it is refused
    (403 ``quota-exceeded``). Overridden per workspace like the other limits."""
    limit_storage_assets: int = Field(0, ge=0)
    """Assets one workspace may have (0: no quota)."""
    limit_output_retention_days: float = Field(0, ge=0)
    """Render outputs older than this are expired by the retention run: their bytes removed,
    the asset kept and marked expired (0: kept forever). Pinned assets are always kept."""
    limit_upload_expiry_hours: float = Field(24, gt=0)
    """An unfinished resumable upload expires this long after its last bytes arrived (and at
    the latest this long after its creation or 7 days, whichever is later); its bytes go."""
    retention_interval: float = Field(3600, ge=0)
    """Seconds between retention runs in the server process (0: none in-process; run
    ``reelforge retention run`` from a scheduler instead)."""
    require_approved_media: bool = False
    """Renders are for publication unless they say otherwise (``"purpose": "draft"`` or
    ``"preview"``): they may use approved asset versions only. Off: a render is a draft unless
    it asks for ``"purpose": "publication"``."""
    event_retention_days: int = Field(90, ge=1)
    """Events (``/v1/events``) older than this are pruned by the retention run."""
    audit_retention_days: int = Field(365, ge=1)
    """Audit entries older than this are pruned by the retention run."""
    delivery_log_retention_days: int = Field(30, ge=1)
    """Finished output deliveries older than this are pruned by the retention run."""
    render_seconds_per_day: float = Field(86400, ge=0)
    """Seconds of rendering (wall clock) one workspace may use per UTC day; once spent, new
    renders are refused (429 ``render-budget-exhausted``) until the next day. 0: no budget."""
    render_segment_inputs: int = Field(24, ge=0)
    """An edit whose single FFmpeg run would open at least this many inputs renders as
    sequential segments, so memory does not grow with its clips (see docs/edit-format.md,
    *Long timelines*); its audio is then mixed by runs of at most this many inputs each.
    0: always one run."""
    render_segment_clips: int = Field(4, ge=0)
    """Picture clips in one segment at most, where cuts allow (each opens about one input).
    0: always one run."""
    render_segment_seconds: float = Field(60, gt=0)
    """The longest a segment may be, seconds (segments end only where no picture clip is on
    screen across the cut, so one can be longer where there is none)."""
    render_chunk_min_seconds: float = Field(180, ge=0)
    """A timeline at least this long (seconds) is rendered in chunks that any worker may take,
    in parallel, then joined (see docs/scaling.md). 0: never."""
    render_chunk_seconds: float = Field(30, gt=0)
    """The longest a chunk may be, seconds (chunks end only where no picture clip is on screen
    across the cut)."""
    render_chunk_lease: float = Field(60, gt=0, le=3600)
    """Seconds without a heartbeat after which a running chunk counts as abandoned (its worker
    died) and another worker takes it."""
    queue: str = Field("inprocess", pattern="^(inprocess|celery)$")
    """Where renders run: ``inprocess`` (default: threads of the server process, ``workers`` of
    them) or ``celery`` (``reelforge worker`` processes, told of new work through
    ``broker_url``). The render code and the database queue are the same either way."""
    broker_url: str | None = None
    """The Celery broker with ``queue=celery``: ``redis://127.0.0.1:6379/0`` or
    ``amqp://guest:guest@127.0.0.1:5672//`` (RabbitMQ). Needs ``pip install 'reelforge[celery]'``."""
    celery_queue_prefix: str = Field("reelforge", pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    """Celery queues are ``<prefix>.renders``, ``<prefix>.webhooks`` and ``<prefix>.previews``;
    installations sharing a broker need different prefixes."""
    worker_concurrency: int = Field(2, ge=1, le=64)
    """Renders one ``reelforge worker`` process runs at once (``--concurrency`` overrides it)."""
    worker_max_memory_mb: int = Field(0, ge=0)
    """A ``reelforge worker`` process whose resident memory passes this (MiB) is replaced by a
    fresh one after its current renders (0: never). ``--max-memory`` overrides it."""
    worker_max_renders: int = Field(0, ge=0)
    """A ``reelforge worker`` process is replaced after this many renders (0: never)."""
    worker_sweep_interval: float = Field(10.0, gt=0, le=3600)
    """Seconds between a ``reelforge worker``'s looks for work no message announced (a message
    the broker lost) and for renders whose worker died (their heartbeat older than
    ``worker_stale_after``)."""
    max_running_renders_per_workspace: int = Field(0, ge=0)
    """Renders of one workspace running at once (0: no quota); more wait in the queue."""
    webhooks_dispatcher: bool = True
    """Deliver webhooks from this process (a background dispatcher; several processes may run one)."""
    webhooks_allow_private: bool = False
    """Development only: let webhook URLs reach loopback, private and link-local addresses, over
    plain http and on any port. Never in production (it opens the server to SSRF)."""
    webhooks_allow_http: bool = False
    """Allow ``http://`` webhook URLs (https only by default)."""
    webhooks_allowed_ports: list[int] = [443, 80]
    """Ports webhook URLs may use (empty: any)."""
    webhooks_denied_networks: list[str] = []
    """Networks (CIDR) never delivered to besides the built-in private/reserved ones: your VPC."""
    webhooks_timeout: float = Field(15.0, gt=0, le=120)
    """Seconds one delivery attempt may take, response included."""
    webhooks_retry_schedule: list[float] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    """Seconds to wait after each failed attempt before the next (±``webhooks_retry_jitter``);
    after the last the message is failed. The default is Standard Webhooks' 10 attempts over 3 days."""
    webhooks_retry_jitter: float = Field(0.2, ge=0, lt=1)
    webhooks_secret_overlap: int = Field(86400, ge=0, le=7 * 86400)
    """Seconds the previous secret still signs after a rotation (default 24 h)."""
    webhooks_disable_after: float = Field(5 * 86400, gt=0)
    """An endpoint with no successful delivery for this long (seconds) ..."""
    webhooks_disable_min_failures: int = Field(10, ge=1)
    """... and at least this many failed attempts in that span is disabled."""
    webhooks_max_in_flight: int = Field(10, ge=1, le=1000)
    """Attempts in flight to one endpoint at once, per dispatcher."""
    webhooks_retention_days: int = Field(30, ge=1)
    """Finished deliveries and their attempt logs are kept this long."""

    delivery_worker: bool = True
    """Deliver render outputs to their destinations from this process (a background worker;
    several processes may run one)."""
    delivery_concurrency: int = Field(4, ge=1, le=64)
    """Files delivered at once by this process's delivery worker."""
    delivery_folder_root: Path | None = None
    """The directory under which ``folder`` destinations write (unset: folder destinations are
    refused). A destination's path is relative to it and can never lead out of it."""
    delivery_credential_keys: list[str] = []
    """Fernet keys that encrypt destination credentials, newest first (the first encrypts, all
    decrypt; ``reelforge destinations rotate-keys`` re-encrypts with the first). Unset: a key
    derived from the server's secrets file. JSON in the environment:
    ``REELFORGE_DELIVERY_CREDENTIAL_KEYS='["<new>", "<old>"]'``."""
    delivery_timeout: float = Field(300.0, gt=0, le=3600)
    """Seconds one delivery attempt may wait on the network (connect, each read or write)."""
    delivery_retry_schedule: list[float] = [30, 120, 600, 1800, 7200, 21600]
    """Seconds to wait after each failed attempt before the next (±``delivery_retry_jitter``);
    after the last the delivery is failed (``delivery.failed``) until redelivered on request."""
    delivery_retry_jitter: float = Field(0.2, ge=0, lt=1)
    imports_allow_private: bool = False
    """Development only: let imports fetch from loopback, private and link-local addresses, over
    plain http and on any port (a media server on your machine). Never in production (SSRF)."""
    imports_allowed_ports: list[int] = [443, 80]
    """Ports import URLs may use (empty: any)."""
    imports_denied_networks: list[str] = []
    """Networks (CIDR) never fetched from besides the built-in private/reserved ones: your VPC."""
    imports_timeout: float = Field(1800.0, gt=0)
    """Seconds one import may take in all (every attempt and redirect together)."""
    imports_read_timeout: float = Field(30.0, gt=0)
    """Seconds without a byte from the server before an attempt is given up (then resumed with
    Range when the server supports it)."""
    imports_attempts: int = Field(5, ge=1, le=20)
    """Connections one import may make (the first and its resumptions)."""
    imports_edit_wait: float = Field(300.0, gt=0)
    """Seconds a request whose edit names URLs as sources waits for their imports."""
    imports_concurrency: int = Field(2, ge=1, le=64)
    """Imports fetched at once by this process."""
    asr_model: str = Field("base", min_length=1)
    """The speech-recognition model for automatic captions (extra ``reelforge[asr]``): a Whisper
    name (``tiny``, ``base.en``, ``small``, ``large-v3``...), fetched by faster-whisper on first
    use and cached (``asr_download_dir``), or a local directory holding one in CTranslate2 format."""
    asr_device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where the model runs: ``auto`` uses a CUDA GPU when one is present, else the CPU."""
    asr_compute_type: str = "auto"
    """CTranslate2 quantisation: ``auto`` is int8 on CPU and int8_float16 on a GPU."""
    asr_threads: int = Field(0, ge=0, le=256)
    """CPU threads per transcription (0: the library's default)."""
    asr_vad: bool = True
    """Skip stretches without voice (Silero VAD) before recognition: fewer invented words in music."""
    asr_download_dir: Path | None = None
    """Where named models are downloaded (default: the Hugging Face cache)."""
    asr_cache_dir: Path | None = None
    """Transcripts kept by content hash and model, so the same speech is recognised once;
    default ``<data_dir>/transcripts``."""
    asr_concurrency: int = Field(1, ge=1, le=16)
    """Transcriptions run at once by this process's worker."""

    def resolved_transcript_cache_dir(self) -> Path:
        return (self.asr_cache_dir or self.data_dir / "transcripts").resolve()

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reelforge.db').resolve()}"

    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "storage").resolve()

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or self.data_dir / "cache").resolve()
