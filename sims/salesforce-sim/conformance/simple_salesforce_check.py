#!/usr/bin/env python3
"""Checks that simple-salesforce, a widely used Salesforce client, works unchanged against
salesforce-sim: log in with a session token + instance URL, describe, query with paging,
create, update, upsert, delete, collections, limits, updated/deleted.

Usage:
    python3 simple_salesforce_check.py --instance-url https://127.0.0.1:7001 --token TOKEN \
        [--expect-contacts N] [--ca-cert PATH]

simple-salesforce always builds https URLs, so run the simulator with --tls. Its certificate is
self-signed: pass --ca-cert with it, or verification is turned off.
Exit status 0 when every check passed; 1 on a failed check; 3 when the module is missing.
"""

import argparse
import sys
from datetime import datetime, timedelta, timezone

try:
    import requests
    import urllib3
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import (
        SalesforceMalformedRequest,
        SalesforceResourceNotFound,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    print(
        f"simple-salesforce is not installed ({exc}); run "
        "`pip install -r sims/salesforce-sim/conformance/requirements.txt`",
        file=sys.stderr,
    )
    sys.exit(3)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--version", default="62.0")
    parser.add_argument("--expect-contacts", type=int, default=0)
    parser.add_argument("--ca-cert")
    args = parser.parse_args()

    session = requests.Session()
    if args.ca_cert:
        session.verify = args.ca_cert
    else:
        session.verify = False
        # Else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment re-enable verification.
        session.trust_env = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    sf = Salesforce(
        instance_url=args.instance_url,
        session_id=args.token,
        version=args.version,
        session=session,
    )

    # Describe.
    names = {o["name"] for o in sf.describe()["sobjects"]}
    check({"Account", "Contact", "Project__c"} <= names, "describeGlobal lists Account, Contact, Project__c")
    d = sf.Project__c.describe()
    fields = {f["name"]: f for f in d["fields"]}
    check(fields["Tandem_Key__c"]["externalId"], "Project__c describe marks Tandem_Key__c as external id")
    check(fields["Status__c"]["restrictedPicklist"], "Project__c.Status__c is a restricted picklist")

    # Query with paging.
    if args.expect_contacts:
        res = sf.query_all("SELECT Id, LastName FROM Contact")
        check(res["totalSize"] == args.expect_contacts, f"query_all totalSize is {args.expect_contacts}")
        check(len(res["records"]) == args.expect_contacts, "query_all followed nextRecordsUrl to every record")
        ids = {r["Id"] for r in res["records"]}
        check(len(ids) == args.expect_contacts, "no record came twice")
        first = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
        check(len(first["records"]) == 500 and not first["done"], "batchSize header gives 500-record pages")
        more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        check(len(more["records"]) == 500, "query_more fetched the next page")
        pages = sum(1 for _ in sf.query_all_iter("SELECT Id FROM Contact"))
        check(pages == args.expect_contacts, "query_all_iter yields every record")

    # Create, read, update, upsert, delete.
    created = sf.Project__c.create({"Summary__c": "from simple-salesforce", "Status__c": "Planned", "Budget__c": 1000})
    check(created["success"] and created["id"].startswith("a0X"), "create returned a Project__c id")
    pid = created["id"]
    rec = sf.Project__c.get(pid)
    check(rec["Summary__c"] == "from simple-salesforce", "get returned the created record")
    check(rec["Budget_Remaining__c"] == 1000, "formula field computed")
    status = sf.Project__c.update(pid, {"Status__c": "In Progress", "Spent__c": 250})
    check(status == 204, "update answered 204")
    check(sf.Project__c.get(pid)["Budget_Remaining__c"] == 750, "update recomputed the formula")
    status = sf.Project__c.upsert("Tandem_Key__c/py-1", {"Summary__c": "upserted"})
    check(status == 201, "upsert created (201)")
    status = sf.Project__c.upsert("Tandem_Key__c/py-1", {"Summary__c": "upserted again"})
    check(status == 200, "upsert updated (200)")
    check(sf.Project__c.get_by_custom_id("Tandem_Key__c", "py-1")["Summary__c"] == "upserted again", "get_by_custom_id")
    try:
        sf.Project__c.create({"Summary__c": "bad", "Status__c": "Nope"})
        check(False, "a bad picklist value is rejected")
    except SalesforceMalformedRequest as exc:
        check(exc.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad picklist value rejected with its code")
    status = sf.Project__c.delete(pid)
    check(status == 204, "delete answered 204")
    try:
        sf.Project__c.get(pid)
        check(False, "a deleted record is gone")
    except SalesforceResourceNotFound:
        check(True, "a deleted record answers 404")

    # Collections through restful().
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [
            {"attributes": {"type": "Account"}, "Name": "Via collections"},
            {"attributes": {"type": "Account"}},
        ]},
    )
    check(results[0]["success"] and not results[1]["success"], "collections report per-record outcomes")
    check(results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING", "per-record statusCode")

    # Updated / deleted windows and limits.
    now = datetime.now(timezone.utc)
    updated = sf.Project__c.updated(now - timedelta(days=1), now + timedelta(minutes=5))
    check(any(True for _ in updated["ids"]), "updated() lists recent changes")
    deleted = sf.Project__c.deleted(now - timedelta(days=1), now + timedelta(minutes=5))
    check(any(r["id"] == pid for r in deleted["deletedRecords"]), "deleted() lists the deleted record")
    limits = sf.limits()
    check(limits["DailyApiRequests"]["Remaining"] < limits["DailyApiRequests"]["Max"], "limits() shows calls spent")
    check(sf.api_usage.get("api-usage") is not None, "simple-salesforce read Sforce-Limit-Info")
    print("all simple-salesforce checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
