#!/bin/sh
# Entrypoint of the MagFlock board image (installed as /usr/local/bin/mobo-entrypoint).
#
#   mobo boot ...   initialise the home first if it has no mobo.toml (single-host
#                   layout: the first start of the container creates config + secrets);
#   mobo init ...   idempotent: a home that already has mobo.toml is left alone, so the
#                   one-shot `init` service of the scale-out layout can run on every
#                   `up` without regenerating (and so invalidating) the secrets;
#   anything else   run as is. `mobo run CARD` deliberately does NOT initialise: in the
#                   scale-out layout several replicas start at once and each would mint
#                   its own secrets; they wait for the `init` service instead.
#
# The command is exec'd, so it replaces this shell and receives docker's signals.
set -eu

MOBO_HOME="${MOBO_HOME:-/data}"
export MOBO_HOME

log() {
    echo "mobo-entrypoint: $*" >&2
}

require_writable_home() {
    if [ ! -d "$MOBO_HOME" ] || [ ! -w "$MOBO_HOME" ]; then
        log "the board home $MOBO_HOME is missing or not writable by uid $(id -u)."
        log "mount a named volume there, or chown a bind mount to uid 10001."
        exit 78  # EX_CONFIG
    fi
}

initialised() {
    [ -f "$MOBO_HOME/mobo.toml" ]
}

# No arguments: behave like the image's default command.
if [ "$#" -eq 0 ]; then
    set -- mobo boot --foreground
fi

if [ "$1" = "mobo" ] && [ "$#" -ge 2 ]; then
    case "$2" in
        boot)
            require_writable_home
            if ! initialised; then
                log "no $MOBO_HOME/mobo.toml: running 'mobo init' once"
                mobo init
            fi
            ;;
        init)
            require_writable_home
            if initialised; then
                log "$MOBO_HOME is already initialised; keeping its config and secrets"
                exit 0
            fi
            ;;
        run)
            if ! initialised; then
                log "warning: $MOBO_HOME has no mobo.toml; run 'mobo init' there first" \
                    "(the scale-out layout's 'init' service does)"
            fi
            ;;
    esac
fi

exec "$@"
