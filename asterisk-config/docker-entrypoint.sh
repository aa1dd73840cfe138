#!/bin/sh
# hotline114 — render the Asterisk configuration and start Asterisk in the foreground.
#
# Reads the templates in $ASTERISK_TEMPLATE_DIR (default /etc/asterisk-templates: docker-compose.yml
# mounts asterisk-config/ there read-only), replaces the __PLACEHOLDER__ secrets from the
# environment and writes the result to $ASTERISK_ETC_DIR (default /etc/asterisk), replacing
# whatever *.conf files the image shipped. Then: exec asterisk -f "$@".
#
#   ARI_PASSWORD     -> __ARI_PASSWORD__      (ari.conf, user hotline114)   default hotline114
#   AMI_SECRET       -> __AMI_SECRET__        (manager.conf, user hotline114) default hotline114
#   AGENT_PASSWORD   -> __AGENT_PASSWORD__    (pjsip.conf, agent1001..1006) default agentpass
#   CALLER_PASSWORD  -> __CALLER_PASSWORD__   (pjsip.conf, caller1..3)      default callerpass
#   TRUNK_HOST       set: enables the example trunk in pjsip.conf, with
#   TRUNK_PORT (5060), TRUNK_USERNAME, TRUNK_PASSWORD, TRUNK_DID -> __TRUNK_*__
#   ASTERISK_EXTERNAL_IP  set: NAT addresses for transport-udp (pjsip_nat.conf), with
#   ASTERISK_LOCAL_NET    space-separated networks not to rewrite (default 172.16.0.0/12)
#
# The dev defaults are for a lab only: set real secrets in production.
set -eu

src=${ASTERISK_TEMPLATE_DIR:-/etc/asterisk-templates}
dst=${ASTERISK_ETC_DIR:-/etc/asterisk}

ARI_PASSWORD=${ARI_PASSWORD:-hotline114}
AMI_SECRET=${AMI_SECRET:-hotline114}
AGENT_PASSWORD=${AGENT_PASSWORD:-agentpass}
CALLER_PASSWORD=${CALLER_PASSWORD:-callerpass}
TRUNK_HOST=${TRUNK_HOST:-}
TRUNK_PORT=${TRUNK_PORT:-5060}
TRUNK_USERNAME=${TRUNK_USERNAME:-}
TRUNK_PASSWORD=${TRUNK_PASSWORD:-}
TRUNK_DID=${TRUNK_DID:-}
ASTERISK_EXTERNAL_IP=${ASTERISK_EXTERNAL_IP:-}
ASTERISK_LOCAL_NET=${ASTERISK_LOCAL_NET:-172.16.0.0/12}

die() { echo "docker-entrypoint: $*" >&2; exit 1; }

[ -d "$src" ] || die "template directory $src not found"
mkdir -p "$dst"
[ "$(cd "$src" && pwd -P)" != "$(cd "$dst" && pwd -P)" ] || die "template and target directory are the same ($dst)"

# A value goes into an Asterisk config file through sed: no line breaks; ";" starts a comment in
# Asterisk's config syntax, so it is written as "\;"; then \ & | are escaped for sed.
nl='
'
for var in ARI_PASSWORD AMI_SECRET AGENT_PASSWORD CALLER_PASSWORD TRUNK_HOST TRUNK_PORT \
           TRUNK_USERNAME TRUNK_PASSWORD TRUNK_DID ASTERISK_EXTERNAL_IP ASTERISK_LOCAL_NET; do
  eval "val=\${$var}"
  case $val in *"$nl"*) die "$var must not contain a line break" ;; esac
done
value() { printf '%s' "$2" | sed -e 's/;/\\;/g' -e 's/[\\&|]/\\&/g'; }

if [ -n "$TRUNK_HOST" ]; then
  [ -n "$TRUNK_USERNAME" ] && [ -n "$TRUNK_PASSWORD" ] || die "TRUNK_HOST is set: TRUNK_USERNAME and TRUNK_PASSWORD are required too"
  TRUNK_DID=${TRUNK_DID:-$TRUNK_USERNAME}
fi

subst=$(mktemp)
trap 'rm -f "$subst"' EXIT
{
  rule() { printf 's|%s|%s|g\n' "$1" "$(value "$1" "$2")"; }
  rule __ARI_PASSWORD__ "$ARI_PASSWORD"
  rule __AMI_SECRET__ "$AMI_SECRET"
  rule __AGENT_PASSWORD__ "$AGENT_PASSWORD"
  rule __CALLER_PASSWORD__ "$CALLER_PASSWORD"
  if [ -n "$TRUNK_HOST" ]; then
    rule __TRUNK_HOST__ "$TRUNK_HOST"
    rule __TRUNK_PORT__ "$TRUNK_PORT"
    rule __TRUNK_USERNAME__ "$TRUNK_USERNAME"
    rule __TRUNK_PASSWORD__ "$TRUNK_PASSWORD"
    rule __TRUNK_DID__ "$TRUNK_DID"
    # Un-comment the example trunk: inside the ";; >>> trunk-example" ... ";; <<< trunk-example"
    # block, drop the ";" of lines that start with exactly one ";".
    printf '%s\n' '/^;; >>> trunk-example/,/^;; <<< trunk-example/s/^;\([^;]\)/\1/'
  fi
} > "$subst"

# The image ships Asterisk's sample configuration: remove it so that only ours is loaded.
find "$dst" -maxdepth 1 -type f -name '*.conf' -exec rm -f {} +
for f in "$src"/*.conf; do
  sed -f "$subst" "$f" > "$dst/$(basename "$f")"
done
rm -f "$subst"

if [ -n "$ASTERISK_EXTERNAL_IP" ]; then
  {
    echo "; written by docker-entrypoint.sh from ASTERISK_EXTERNAL_IP / ASTERISK_LOCAL_NET"
    echo "[transport-udp](+)"
    echo "external_media_address = $(value ASTERISK_EXTERNAL_IP "$ASTERISK_EXTERNAL_IP")"
    echo "external_signaling_address = $(value ASTERISK_EXTERNAL_IP "$ASTERISK_EXTERNAL_IP")"
    for net in $ASTERISK_LOCAL_NET; do
      echo "local_net = $(value ASTERISK_LOCAL_NET "$net")"
    done
  } > "$dst/pjsip_nat.conf"
fi

# The secrets are in these files now: keep them away from other users of the container.
chmod 600 "$dst"/*.conf 2>/dev/null || :

# Our Chinese voice prompts are read from astdatadir/sounds/zh/hotline114 (docker-compose.yml mounts the
# "prompts" volume there; elsewhere: PROMPTS_OUT_DIR=... npm run prompts). Without them calls still work,
# but the caller hears silence where a prompt should be.
prompts_dir=/var/lib/asterisk/sounds/zh/hotline114
[ -f "$prompts_dir/welcome.wav" ] || echo "docker-entrypoint: warning: no voice prompts in $prompts_dir (see README, Voice prompts)" >&2
# Music on hold (musiconhold.conf class default) is rendered by the same `npm run prompts` into moh/.
ls "$prompts_dir"/moh/*.wav >/dev/null 2>&1 || echo "docker-entrypoint: warning: no music on hold in $prompts_dir/moh (npm run prompts renders it)" >&2

# Anything still looking like a placeholder on an active (uncommented) line is a mistake.
if grep -n '^[^;]*__[A-Z_]*__' "$dst"/*.conf >&2; then
  die "unreplaced placeholders above"
fi

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec "$@"                       # e.g. `docker compose run asterisk sh`
fi
exec asterisk -f "$@"
