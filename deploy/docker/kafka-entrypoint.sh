#!/usr/bin/env bash
# The apache/kafka image, secure by default like `hub broker start`: SASL/SCRAM-SHA-512 for
# clients, PLAIN between controller and broker, the StandardAuthorizer with deny by default,
# super users User:broker and User:hub-admin. On the first start it generates the broker's and
# hub-admin's passwords, bootstraps both SCRAM credentials into the storage format
# (--add-scram), and writes hub-admin's credential to /credentials/hub-admin.properties (the
# host's .hub/credentials/), mode 0600, the file the hub CLI reads. Passwords are never echoed.
set -euo pipefail
umask 077

DATA=/var/lib/kafka/data
STATE=/var/lib/kafka/hub/security.properties  # a volume of its own (kafka-state)
CONFIG=/tmp/server.properties
ADMIN_FILE=/credentials/hub-admin.properties

new_password() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='; }
value_of() { sed -n "s/^$1=//p" "$2"; }

if [[ ! -f $STATE ]]; then
  if [[ -f $DATA/meta.properties ]]; then
    echo "kafka: $DATA was formatted without authentication: remove the volume (docker compose down -v)" >&2
    exit 1
  fi
  printf 'broker.password=%s\n' "$(new_password)" >"$STATE"
  printf '%s\n' "# Kafka credential of the principal hub-admin (docker compose)." \
    "security.protocol=SASL_PLAINTEXT" "sasl.mechanisms=SCRAM-SHA-512" \
    "sasl.username=hub-admin" "sasl.password=$(new_password)" >"$ADMIN_FILE"
fi
BROKER_PW=$(value_of broker.password "$STATE")
ADMIN_PW=$(value_of sasl.password "$ADMIN_FILE")

cat >"$CONFIG" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
controller.listener.names=CONTROLLER
listeners=INTERNAL://:29092,EXTERNAL://:9092,CONTROLLER://:9093
advertised.listeners=INTERNAL://kafka:29092,EXTERNAL://localhost:9092
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PW";
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$BROKER_PW" user_broker="$BROKER_PW";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:hub-admin
connection.failed.authentication.delay.ms=1000
log.dirs=$DATA
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=true
PROPS

if [[ ! -f $DATA/meta.properties ]]; then
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
    -c "$CONFIG" \
    --add-scram "SCRAM-SHA-512=[name=broker,password=$BROKER_PW]" \
    --add-scram "SCRAM-SHA-512=[name=hub-admin,password=$ADMIN_PW]" >/dev/null
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONFIG"
