-- MagAuth on SQLite: plain tables with an `auth_` prefix. Instants are TIMESTAMPTZ text
-- in UTC (MagDS's SQLite codec), JSON documents are JSON text.

CREATE TABLE IF NOT EXISTS auth_users (
    id UUID PRIMARY KEY,
    project TEXT NOT NULL,
    aud TEXT NOT NULL DEFAULT 'authenticated',
    role TEXT NOT NULL DEFAULT 'authenticated',
    email TEXT,
    encrypted_password TEXT,
    email_confirmed_at TIMESTAMPTZ,
    invited_at TIMESTAMPTZ,
    confirmation_token TEXT,
    confirmation_sent_at TIMESTAMPTZ,
    recovery_sent_at TIMESTAMPTZ,
    email_change TEXT,
    email_change_token TEXT,
    email_change_sent_at TIMESTAMPTZ,
    phone TEXT,
    phone_confirmed_at TIMESTAMPTZ,
    last_sign_in_at TIMESTAMPTZ,
    raw_app_meta_data JSON,
    raw_user_meta_data JSON,
    is_anonymous BOOLEAN NOT NULL DEFAULT 0,
    banned_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    UNIQUE (project, email)
);

CREATE INDEX IF NOT EXISTS auth_users_confirmation_token_idx ON auth_users (confirmation_token);

CREATE TABLE IF NOT EXISTS auth_identities (
    id UUID PRIMARY KEY,
    project TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    identity_data JSON,
    email TEXT,
    last_sign_in_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (project, provider, provider_id)
);

CREATE INDEX IF NOT EXISTS auth_identities_user_id_idx ON auth_identities (user_id);

CREATE TABLE IF NOT EXISTS auth_sessions (
    id UUID PRIMARY KEY,
    project TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    aal TEXT NOT NULL DEFAULT 'aal1',
    not_after TIMESTAMPTZ,
    refreshed_at TIMESTAMPTZ,
    user_agent TEXT,
    ip TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS auth_sessions_user_id_idx ON auth_sessions (user_id);

CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
    id UUID PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    project TEXT NOT NULL,
    session_id UUID NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    user_id UUID NOT NULL,
    parent UUID,
    revoked BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS auth_refresh_tokens_session_id_idx ON auth_refresh_tokens (session_id);

CREATE TABLE IF NOT EXISTS auth_api_keys (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS auth_api_keys_name_idx ON auth_api_keys (project, name);
