#!/usr/bin/env python3
"""Checks that a Pub/Sub API client built the way Salesforce's own Python examples build it
works unchanged against salesforce-sim: stubs generated with grpcio-tools from the vendored
pubsub_api.proto (nothing from Tandem), the accesstoken/instanceurl/tenantid metadata,
GetTopic, Subscribe, GetSchema, Avro decoding with the `avro` package, and the changed fields
read from the header's bitmap.

It subscribes to /data/Project__ChangeEvent from EARLIEST, edits the record through the REST
API (with a Sforce-Call-Options client id), and waits for that edit's UPDATE event.

Usage:
    python3 pubsub_check.py --pubsub 127.0.0.1:PORT --instance-url http://127.0.0.1:PORT \
        --token TOKEN --tenant ORG_ID --record-id ID

Exit status 0 when every check passed; 1 on a failed check; 3 when a module is missing.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import urllib.request

try:
    import avro.io
    import avro.schema
    import grpc
    from grpc_tools import protoc
except ImportError as exc:  # pragma: no cover - depends on the environment
    print(
        f"a Pub/Sub client module is missing ({exc}); run "
        "`pip install -r sims/salesforce-sim/conformance/requirements.txt`",
        file=sys.stderr,
    )
    sys.exit(3)

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "proto", "salesforce")
TOPIC = "/data/Project__ChangeEvent"
NEW_SUMMARY = "changed through REST for the Pub/Sub check"
CLIENT = "pubsub-conformance"


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def generate_stubs():
    out = tempfile.mkdtemp(prefix="pubsub-stubs-")
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            "pubsub_api.proto",
        ]
    )
    if rc != 0:
        raise SystemExit(f"protoc failed with {rc}")
    sys.path.insert(0, out)
    import pubsub_api_pb2 as pb2  # noqa: E402
    import pubsub_api_pb2_grpc as pb2_grpc  # noqa: E402

    return pb2, pb2_grpc


def field_names(bitmap_fields, schema):
    """Salesforce's bitmap reading: bit i of "0x…" is schema field i; "N-0x…" is nested."""
    names = []
    for bitmap in bitmap_fields:
        if "-" in bitmap:
            parent_pos, hex_bits = bitmap.split("-", 1)
            parent = schema.fields[int(parent_pos)]
            nested = next(t for t in parent.type.schemas if t.type == "record")
            fields, prefix = nested.fields, parent.name + "."
        else:
            hex_bits, fields, prefix = bitmap, schema.fields, ""
        value = int(hex_bits[2:], 16)
        names += [prefix + f.name for i, f in enumerate(fields) if value >> i & 1]
    return names


def rest_edit(instance_url, token, record_id):
    req = urllib.request.Request(
        f"{instance_url}/services/data/v62.0/sobjects/Project__c/{record_id}",
        data=json.dumps({"Summary__c": NEW_SUMMARY}).encode(),
        method="PATCH",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Sforce-Call-Options": f"client={CLIENT}",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        check(r.status == 204, "the REST update answered 204")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pubsub", required=True)
    p.add_argument("--instance-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--record-id", required=True)
    args = p.parse_args()

    pb2, pb2_grpc = generate_stubs()
    metadata = (
        ("accesstoken", args.token),
        ("instanceurl", args.instance_url),
        ("tenantid", args.tenant),
    )
    with grpc.insecure_channel(args.pubsub) as channel:
        stub = pb2_grpc.PubSubStub(channel)
        try:
            stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC))
            raise AssertionError("a call without the auth metadata was answered")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAUTHENTICATED, "no auth metadata: UNAUTHENTICATED")

        topic = stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=metadata)
        check(topic.can_subscribe and topic.tenant_guid == args.tenant, "GetTopic names the org")

        # As Salesforce's example does: a request generator that sends more requests on demand.
        more = threading.Semaphore(1)
        stop = threading.Event()

        def requests():
            while not stop.is_set():
                if more.acquire(timeout=0.2):
                    yield pb2.FetchRequest(
                        topic_name=TOPIC,
                        replay_preset=pb2.ReplayPreset.EARLIEST,
                        num_requested=5,
                    )

        stream = stub.Subscribe(requests(), metadata=metadata, timeout=60)
        rest_edit(args.instance_url, args.token, args.record_id)
        schemas = {}
        found = None
        for response in stream:
            for ev in response.events:
                sid = ev.event.schema_id
                if sid not in schemas:
                    info = stub.GetSchema(pb2.SchemaRequest(schema_id=sid), metadata=metadata)
                    schemas[sid] = avro.schema.parse(info.schema_json)
                schema = schemas[sid]
                reader = avro.io.DatumReader(schema)
                decoded = reader.read(avro.io.BinaryDecoder(io.BytesIO(ev.event.payload)))
                header = decoded["ChangeEventHeader"]
                if header["changeType"] == "UPDATE" and args.record_id in header["recordIds"]:
                    found = (decoded, schema, ev.replay_id)
                    break
            if found:
                break
            if response.pending_num_requested == 0:
                more.release()
        stop.set()
        stream.cancel()

    check(found is not None, "the edit's UPDATE event arrived")
    decoded, schema, replay_id = found
    header = decoded["ChangeEventHeader"]
    check(header["entityName"] == "Project__c", "entityName is Project__c")
    check(header["changeOrigin"].endswith(f";client={CLIENT}"), "changeOrigin carries the client id")
    check(len(replay_id) > 0, "the event has a replay id")
    changed = field_names(header["changedFields"], schema)
    check("Summary__c" in changed, f"the bitmap names Summary__c ({changed})")
    check("Name" not in changed, "the bitmap does not name an unchanged field")
    check(decoded["Summary__c"] == NEW_SUMMARY, "the changed field carries its new value")
    check(decoded["Name"] is None, "an unchanged field is null")
    print("all pub/sub checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
