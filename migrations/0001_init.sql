-- +goose Up
-- The platform's schema. Written in the SQL both PostgreSQL and SQLite accept:
-- TEXT ids, BIGINT minor units, TIMESTAMP columns always written in UTC by the application,
-- JSON kept as TEXT, partial unique indexes for "at most one" rules.

CREATE TABLE organizations (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    support_email      TEXT NOT NULL DEFAULT '',
    seller_country     TEXT NOT NULL DEFAULT '',
    prices_include_tax BOOLEAN NOT NULL DEFAULT TRUE,
    oss_registered     BOOLEAN NOT NULL DEFAULT FALSE,
    data_key           TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    name                TEXT NOT NULL DEFAULT '',
    password_hash       TEXT NOT NULL DEFAULT '',
    platform_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        TIMESTAMP NULL,
    last_login_at       TIMESTAMP NULL,
    password_changed_at TIMESTAMP NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE memberships (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

CREATE TABLE providers (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    type             TEXT NOT NULL CHECK (type IN ('stripe', 'gocardless', 'wire_transfer')),
    mode             TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    name             TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    settings         TEXT NOT NULL DEFAULT '{}',
    credentials      TEXT NOT NULL DEFAULT '',
    credentials_hint TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX providers_org_idx ON providers (organization_id, created_at);

CREATE TABLE sites (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    logo_url            TEXT NOT NULL DEFAULT '',
    primary_color       TEXT NOT NULL DEFAULT '',
    allowed_hosts       TEXT NOT NULL DEFAULT '[]',
    webhook_secret      TEXT NOT NULL,
    default_provider_id TEXT NULL REFERENCES providers (id) ON DELETE SET NULL,
    tax_display         TEXT NOT NULL DEFAULT 'inclusive' CHECK (tax_display IN ('inclusive', 'exclusive')),
    vat_id_validation   TEXT NOT NULL DEFAULT 'format' CHECK (vat_id_validation IN ('none', 'format', 'vies')),
    default_language    TEXT NOT NULL DEFAULT 'en',
    ipn_version         INTEGER NOT NULL DEFAULT 2 CHECK (ipn_version IN (1, 2)),
    frame_ancestors     TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX sites_org_idx ON sites (organization_id, created_at);

CREATE TABLE site_providers (
    site_id         TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    provider_id     TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    position        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, provider_id)
);
CREATE INDEX site_providers_provider_idx ON site_providers (provider_id);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    secret_hash     TEXT NOT NULL,
    secret_hint     TEXT NOT NULL,
    scopes          TEXT NOT NULL DEFAULT '[]',
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP NULL,
    expires_at      TIMESTAMP NULL,
    revoked_at      TIMESTAMP NULL,
    rotated_from    TEXT NULL
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id, created_at);

CREATE TABLE checkouts (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    site_id            TEXT NOT NULL REFERENCES sites (id),
    mode               TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    short_code         TEXT NOT NULL,
    session_public_id  TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('open', 'completed', 'expired', 'cancelled')),
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    email              TEXT NOT NULL DEFAULT '',
    external_reference TEXT NOT NULL DEFAULT '',
    invoice_number     TEXT NOT NULL DEFAULT '',
    client_id          TEXT NOT NULL DEFAULT '',
    return_url         TEXT NOT NULL DEFAULT '',
    cancel_url         TEXT NOT NULL DEFAULT '',
    ipn_url            TEXT NOT NULL DEFAULT '',
    billing_address    TEXT NULL,
    shipping_address   TEXT NULL,
    language           TEXT NOT NULL DEFAULT '',
    metadata           TEXT NOT NULL DEFAULT '{}',
    origin             TEXT NOT NULL DEFAULT 'api',
    origin_ref         TEXT NULL,
    expires_at         TIMESTAMP NOT NULL,
    completed_at       TIMESTAMP NULL,
    created_by         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX checkouts_short_code_key ON checkouts (short_code);
CREATE UNIQUE INDEX checkouts_session_public_id_key ON checkouts (session_public_id);
CREATE UNIQUE INDEX checkouts_origin_ref_key ON checkouts (organization_id, origin, origin_ref) WHERE origin_ref IS NOT NULL;
CREATE INDEX checkouts_org_id_idx ON checkouts (organization_id, id);
CREATE INDEX checkouts_org_reference_idx ON checkouts (organization_id, external_reference);
CREATE INDEX checkouts_open_expiry_idx ON checkouts (expires_at) WHERE status = 'open';

CREATE TABLE checkout_items (
    checkout_id     TEXT NOT NULL REFERENCES checkouts (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    quantity        BIGINT NOT NULL CHECK (quantity >= 1),
    unit_price      BIGINT NOT NULL,
    vat_rate        BIGINT NULL,
    item_type       TEXT NOT NULL CHECK (item_type IN ('goods', 'digital_service', 'shipping', 'tax', 'discount')),
    PRIMARY KEY (checkout_id, position)
);

CREATE TABLE transactions (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    checkout_id             TEXT NOT NULL REFERENCES checkouts (id),
    site_id                 TEXT NOT NULL,
    provider_id             TEXT NOT NULL REFERENCES providers (id),
    provider_type           TEXT NOT NULL,
    mode                    TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    status                  TEXT NOT NULL CHECK (status IN ('initiated', 'pending_provider', 'succeeded', 'failed', 'canceled', 'refunded', 'partially_refunded', 'disputed')),
    currency                TEXT NOT NULL,
    net_amount              BIGINT NOT NULL,
    tax_amount              BIGINT NOT NULL,
    gross_amount            BIGINT NOT NULL CHECK (gross_amount > 0),
    refunded_amount         BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= gross_amount),
    provider_reference      TEXT NULL,
    provider_payment_id     TEXT NULL,
    payment_reference       TEXT NULL,
    billing_details         TEXT NOT NULL DEFAULT '{}',
    tax_evidence            TEXT NOT NULL DEFAULT '{}',
    provider_data           TEXT NOT NULL DEFAULT '{}',
    failure_code            TEXT NOT NULL DEFAULT '',
    failure_message         TEXT NOT NULL DEFAULT '',
    dispute_status          TEXT NOT NULL DEFAULT '',
    event_version           INTEGER NOT NULL DEFAULT 0,
    buyer_marked_pending_at TIMESTAMP NULL,
    succeeded_at            TIMESTAMP NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);
-- At most one attempt per checkout may take the money.
CREATE UNIQUE INDEX transactions_one_success_key ON transactions (checkout_id) WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed');
CREATE UNIQUE INDEX transactions_provider_reference_key ON transactions (provider_id, provider_reference) WHERE provider_reference IS NOT NULL;
CREATE UNIQUE INDEX transactions_provider_payment_key ON transactions (provider_id, provider_payment_id) WHERE provider_payment_id IS NOT NULL;
CREATE UNIQUE INDEX transactions_payment_reference_key ON transactions (payment_reference) WHERE payment_reference IS NOT NULL;
CREATE INDEX transactions_checkout_idx ON transactions (checkout_id, created_at);
CREATE INDEX transactions_org_id_idx ON transactions (organization_id, id);
CREATE INDEX transactions_open_idx ON transactions (status, updated_at) WHERE status IN ('initiated', 'pending_provider');

CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    transaction_id     TEXT NOT NULL REFERENCES transactions (id),
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    manual             BOOLEAN NOT NULL DEFAULT FALSE,
    source             TEXT NOT NULL DEFAULT 'api',
    provider_reference TEXT NULL,
    failure_message    TEXT NOT NULL DEFAULT '',
    created_by         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX refunds_transaction_idx ON refunds (transaction_id, created_at);
CREATE UNIQUE INDEX refunds_provider_reference_key ON refunds (transaction_id, provider_reference) WHERE provider_reference IS NOT NULL;

-- The transactional outbox: one row per state change, written in the same transaction.
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    type            TEXT NOT NULL,
    checkout_id     TEXT NULL,
    transaction_id  TEXT NULL,
    version         INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}',
    occurred_at     TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    dispatched_at   TIMESTAMP NULL
);
CREATE UNIQUE INDEX events_transaction_version_key ON events (transaction_id, version) WHERE transaction_id IS NOT NULL AND version > 0;
CREATE INDEX events_undispatched_idx ON events (created_at) WHERE dispatched_at IS NULL;
CREATE INDEX events_checkout_idx ON events (checkout_id, occurred_at);
CREATE INDEX events_transaction_idx ON events (transaction_id, occurred_at);

-- Durable background jobs, claimed with leases (FOR UPDATE SKIP LOCKED on PostgreSQL).
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    unique_key      TEXT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    organization_id TEXT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'running', 'completed', 'failed', 'cancelled')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 25,
    run_at          TIMESTAMP NOT NULL,
    deadline        TIMESTAMP NULL,
    locked_by       TEXT NULL,
    locked_until    TIMESTAMP NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NULL
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_ready_idx ON jobs (run_at) WHERE state IN ('available', 'running');

-- One merchant notification (IPN) per transaction event; its body never changes.
CREATE TABLE ipn_deliveries (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    site_id          TEXT NOT NULL,
    checkout_id      TEXT NOT NULL,
    transaction_id   TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_version    INTEGER NOT NULL,
    url              TEXT NOT NULL,
    ipn_version      INTEGER NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NULL,
    last_status_code INTEGER NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     TIMESTAMP NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ipn_deliveries_event_key ON ipn_deliveries (event_id);
CREATE INDEX ipn_deliveries_transaction_idx ON ipn_deliveries (transaction_id, event_version);
CREATE INDEX ipn_deliveries_pending_idx ON ipn_deliveries (created_at) WHERE status = 'pending';

CREATE TABLE ipn_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES ipn_deliveries (id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL,
    transaction_id   TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    trigger_kind     TEXT NOT NULL DEFAULT 'scheduled',
    started_at       TIMESTAMP NOT NULL,
    request_body     TEXT NOT NULL,
    signature_ts     TEXT NOT NULL DEFAULT '',
    status_code      INTEGER NULL,
    response_excerpt TEXT NOT NULL DEFAULT '',
    latency_ms       INTEGER NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    finished_at      TIMESTAMP NULL
);
-- An attempt number is claimed once: two workers can never both make attempt N.
CREATE UNIQUE INDEX ipn_attempts_delivery_attempt_key ON ipn_attempts (delivery_id, attempt);
CREATE INDEX ipn_attempts_transaction_idx ON ipn_attempts (transaction_id, started_at);

CREATE TABLE idempotency_keys (
    organization_id TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
    status_code     INTEGER NULL,
    response_body   TEXT NULL,
    content_type    TEXT NOT NULL DEFAULT '',
    locked_until    TIMESTAMP NULL,
    created_at      TIMESTAMP NOT NULL,
    completed_at    TIMESTAMP NULL,
    expires_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, idem_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    actor_label     TEXT NOT NULL DEFAULT '',
    action          TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    ip              TEXT NOT NULL DEFAULT '',
    request_id      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_org_idx ON audit_log (organization_id, id);

-- Provider webhook deliveries, kept raw before anything else is done with them.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    provider_id     TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    provider_type   TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    body            TEXT NOT NULL,
    received_at     TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_provider_idx ON webhook_deliveries (provider_id, received_at);

-- Provider events, each applied once by its provider-side id.
CREATE TABLE provider_events (
    id              TEXT PRIMARY KEY,
    provider_id     TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    provider_type   TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    type            TEXT NOT NULL,
    delivery_id     TEXT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
    error           TEXT NOT NULL DEFAULT '',
    received_at     TIMESTAMP NOT NULL,
    processed_at    TIMESTAMP NULL
);
CREATE UNIQUE INDEX provider_events_external_key ON provider_events (provider_id, external_id);

-- Duda gateway-app connections: app credentials per organisation site, install data per Duda site.
CREATE TABLE duda_connections (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    app_uuid        TEXT NOT NULL,
    app_user        TEXT NOT NULL,
    credentials     TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX duda_connections_org_idx ON duda_connections (organization_id);

CREATE TABLE duda_sites (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    connection_id    TEXT NOT NULL REFERENCES duda_connections (id) ON DELETE CASCADE,
    site_name        TEXT NOT NULL,
    api_endpoint     TEXT NOT NULL,
    tokens           TEXT NOT NULL,
    token_expires_at TIMESTAMP NULL,
    gateway_id       TEXT NOT NULL DEFAULT '',
    install_data     TEXT NOT NULL DEFAULT '{}',
    installed_at     TIMESTAMP NULL,
    uninstalled_at   TIMESTAMP NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX duda_sites_name_key ON duda_sites (connection_id, site_name);

-- +goose Down
DROP TABLE duda_sites;
DROP TABLE duda_connections;
DROP TABLE provider_events;
DROP TABLE webhook_deliveries;
DROP TABLE audit_log;
DROP TABLE idempotency_keys;
DROP TABLE ipn_attempts;
DROP TABLE ipn_deliveries;
DROP TABLE jobs;
DROP TABLE events;
DROP TABLE refunds;
DROP TABLE transactions;
DROP TABLE checkout_items;
DROP TABLE checkouts;
DROP TABLE api_keys;
DROP TABLE site_providers;
DROP TABLE sites;
DROP TABLE providers;
DROP TABLE password_resets;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE organizations;
