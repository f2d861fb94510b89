-- MagAuth on MariaDB/MySQL: plain tables with an `auth_` prefix, InnoDB, utf8mb4.
-- Instants are DATETIME(6) in UTC (sessions run with time_zone '+00:00'; DATETIME has
-- no 2038 limit), JSON documents are JSON (LONGTEXT with json_valid on MariaDB).

CREATE TABLE IF NOT EXISTS auth_users (
    id CHAR(36) NOT NULL PRIMARY KEY,
    project VARCHAR(64) NOT NULL,
    aud VARCHAR(255) NOT NULL DEFAULT 'authenticated',
    role VARCHAR(255) NOT NULL DEFAULT 'authenticated',
    email VARCHAR(255),
    encrypted_password VARCHAR(255),
    email_confirmed_at DATETIME(6),
    invited_at DATETIME(6),
    confirmation_token VARCHAR(255),
    confirmation_sent_at DATETIME(6),
    recovery_sent_at DATETIME(6),
    email_change VARCHAR(255),
    email_change_token VARCHAR(255),
    email_change_sent_at DATETIME(6),
    phone VARCHAR(32),
    phone_confirmed_at DATETIME(6),
    last_sign_in_at DATETIME(6),
    raw_app_meta_data JSON,
    raw_user_meta_data JSON,
    is_anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    banned_until DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    deleted_at DATETIME(6),
    UNIQUE KEY auth_users_project_email_key (project, email),
    KEY auth_users_confirmation_token_idx (confirmation_token)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS auth_identities (
    id CHAR(36) NOT NULL PRIMARY KEY,
    project VARCHAR(64) NOT NULL,
    user_id CHAR(36) NOT NULL,
    provider VARCHAR(64) NOT NULL,
    provider_id VARCHAR(255) NOT NULL,
    identity_data JSON,
    email VARCHAR(255),
    last_sign_in_at DATETIME(6),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY auth_identities_provider_key (project, provider, provider_id),
    KEY auth_identities_user_id_idx (user_id),
    CONSTRAINT auth_identities_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS auth_sessions (
    id CHAR(36) NOT NULL PRIMARY KEY,
    project VARCHAR(64) NOT NULL,
    user_id CHAR(36) NOT NULL,
    aal VARCHAR(16) NOT NULL DEFAULT 'aal1',
    not_after DATETIME(6),
    refreshed_at DATETIME(6),
    user_agent TEXT,
    ip VARCHAR(64),
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY auth_sessions_user_id_idx (user_id),
    CONSTRAINT auth_sessions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
    id CHAR(36) NOT NULL PRIMARY KEY,
    token_hash CHAR(64) NOT NULL,
    project VARCHAR(64) NOT NULL,
    session_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    parent CHAR(36),
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY auth_refresh_tokens_token_hash_key (token_hash),
    KEY auth_refresh_tokens_session_id_idx (session_id),
    CONSTRAINT auth_refresh_tokens_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES auth_sessions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS auth_api_keys (
    id VARCHAR(32) NOT NULL PRIMARY KEY,
    project VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    role VARCHAR(255) NOT NULL,
    secret_hash CHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6),
    last_used_at DATETIME(6),
    revoked_at DATETIME(6),
    KEY auth_api_keys_name_idx (project, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
