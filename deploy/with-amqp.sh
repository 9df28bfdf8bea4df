#!/bin/sh
# Entry point of every CRM image: when CRM_AMQP_PASSWORD_FILE names the password file mounted for this
# process's own broker user (CRM_AMQP_USER), puts AMQP_URI together from them and the broker's address
# (CRM_AMQP_HOST, CRM_AMQP_PORT, CRM_AMQP_VHOST), then runs the command. The password (URL-safe
# characters) never appears in a compose file, an image or a log.
set -eu
if [ -n "${CRM_AMQP_PASSWORD_FILE:-}" ]; then
  AMQP_URI="amqp://${CRM_AMQP_USER}:$(cat "$CRM_AMQP_PASSWORD_FILE")@${CRM_AMQP_HOST:-rabbitmq}:${CRM_AMQP_PORT:-5672}/${CRM_AMQP_VHOST:-crm}"
  export AMQP_URI
fi
exec "$@"
