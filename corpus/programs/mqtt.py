"""mosquitto (MQTT 1883 plain, 8883 TLS) with paho-mqtt clients: telemetry publishers and
subscribers that receive pushes from a publisher in the same session."""

from __future__ import annotations

import asyncio
import time

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session


def server(cell: Cell) -> list[ServerCommand]:
    conf = cell.dir / "mosquitto.conf"
    conf.write_text(
        f"""per_listener_settings false
allow_anonymous true
persistence false
log_dest stderr
log_type error
max_keepalive 65535
listener 1883 {cell.ip}
listener 8883 {cell.ip}
certfile {cell.cert}
keyfile {cell.key}
cafile {cell.ca}
"""
    )
    return [ServerCommand(("mosquitto", "-c", str(conf)))]


def _run(s: Session) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    def client(tag: str) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{s.setting.name}-{s.slot}-{s.index}-{tag}")
        if s.setting.tls:
            c.tls_set(ca_certs=str(s.ca))
        return c

    keepalive = int(s.keepalive())
    topic = f"site/{s.slot % 7}/dev{s.slot}/{s.rng.choice(['temp', 'state', 'power'])}"
    main = client("m")
    main.connect(s.host, s.port, keepalive=keepalive)
    main.loop_start()
    pusher = None
    if s.setting.role == "subscriber":
        main.subscribe(topic, qos=s.rng.choice([0, 1]))
        # The push comes from a second client (the "cloud"): the subscriber only receives.
        pusher = client("p")
        pusher.connect(s.host, s.port, keepalive=keepalive)
        pusher.loop_start()
    sender = pusher or main
    qos = s.rng.choice([0, 1])
    start = time.monotonic()
    for gap in s.gaps():
        time.sleep(gap)
        sender.publish(topic, s.text(20, 300 if s.rng.random() < 0.2 else 80), qos=qos)
    time.sleep(max(0.0, s.duration - (time.monotonic() - start)))
    for c in (main, pusher):
        if c is not None:
            c.disconnect()
            c.loop_stop()


async def session(s: Session) -> None:
    await asyncio.to_thread(_run, s)


PROGRAM = Program("mqtt", "mqtt.corpus.test", 1883, 8883, server, session)
