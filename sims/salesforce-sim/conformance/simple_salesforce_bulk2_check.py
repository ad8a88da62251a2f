#!/usr/bin/env python3
"""Checks that simple-salesforce's Bulk API 2.0 client (`sf.bulk2`) works unchanged against
salesforce-sim: insert with a failed record, the result files, upsert on an external id,
update, delete, and a query read in pages of `max_records` through `Sforce-Locator`.

Usage:
    python3 simple_salesforce_bulk2_check.py --instance-url https://127.0.0.1:7001 --token TOKEN

simple-salesforce always builds https URLs, so run the simulator with --tls (self-signed:
verification is turned off). Exit status 0 when every check passed; 1 on a failed check;
3 when the module is missing.
"""

import argparse
import csv
import io
import sys

try:
    import requests
    import urllib3
    from simple_salesforce import Salesforce
except ImportError as exc:  # pragma: no cover - depends on the environment
    print(
        f"simple-salesforce is not installed ({exc}); run "
        "`pip install -r sims/salesforce-sim/conformance/requirements.txt`",
        file=sys.stderr,
    )
    sys.exit(3)

# simple-salesforce first waits this long, then polls; the simulator finishes in milliseconds.
WAIT = 0.05


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--version", default="62.0")
    args = parser.parse_args()

    session = requests.Session()
    session.verify = False
    session.trust_env = False
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    sf = Salesforce(
        instance_url=args.instance_url,
        session_id=args.token,
        version=args.version,
        session=session,
    )

    # Insert: one record lacks its required Summary__c.
    records = [{"Name": f"Bulk {i}", "Summary__c": "s", "Tandem_Key__c": f"bk-{i}"} for i in range(5)]
    records.append({"Name": "No summary", "Summary__c": "", "Tandem_Key__c": "bk-bad"})
    [result] = sf.bulk2.Project__c.insert(records=records, wait=WAIT)
    check(result["numberRecordsProcessed"] == 6, "insert processed 6 records")
    check(result["numberRecordsFailed"] == 1, "insert reports the one failure")
    job_id = result["job_id"]
    ok = rows(sf.bulk2.Project__c.get_successful_records(job_id))
    check(len(ok) == 5 and all(r["sf__Created"] == "true" for r in ok), "successful results: 5 created")
    check(all(r["sf__Id"].startswith("a0X") for r in ok), "successful results carry the new ids")
    check({r["Tandem_Key__c"] for r in ok} == {f"bk-{i}" for i in range(5)}, "results echo the uploaded columns")
    failed = rows(sf.bulk2.Project__c.get_failed_records(job_id))
    check(len(failed) == 1 and failed[0]["Tandem_Key__c"] == "bk-bad", "failed results name the row")
    check(failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:"), "failed results give Salesforce's error")
    check(rows(sf.bulk2.Project__c.get_unprocessed_records(job_id)) == [], "nothing unprocessed")

    # Upsert on the external id: one update, one create.
    [result] = sf.bulk2.Project__c.upsert(
        records=[{"Tandem_Key__c": "bk-0", "Name": "Bulk 0 renamed"}, {"Tandem_Key__c": "bk-new", "Name": "N", "Summary__c": "s"}],
        external_id_field="Tandem_Key__c",
        wait=WAIT,
    )
    check(result["numberRecordsFailed"] == 0, "upsert succeeded")
    created = {r["Tandem_Key__c"]: r["sf__Created"] for r in rows(sf.bulk2.Project__c.get_successful_records(result["job_id"]))}
    check(created == {"bk-0": "false", "bk-new": "true"}, "upsert reports created per record")

    # Update and delete by Id.
    first = ok[0]["sf__Id"]
    [result] = sf.bulk2.Project__c.update(records=[{"Id": first, "Status__c": "Done"}], wait=WAIT)
    check(result["numberRecordsFailed"] == 0, "update succeeded")
    check(sf.Project__c.get(first)["Status__c"] == "Done", "the update is visible over REST")
    [result] = sf.bulk2.Project__c.delete(records=[{"Id": first}], wait=WAIT)
    check(result["numberRecordsProcessed"] == 1 and result["numberRecordsFailed"] == 0, "delete succeeded")

    # Query in pages of 2: the client follows Sforce-Locator to the end.
    pages = list(sf.bulk2.Project__c.query("SELECT Id, Name, Tandem_Key__c FROM Project__c ORDER BY Tandem_Key__c", max_records=2))
    got = [r for page in pages for r in rows(page)]
    check(len(pages) == 3, "query came in 3 pages of at most 2")
    check(len(got) == 5, "query returned the 5 live records (one was deleted)")
    check(got[0]["Tandem_Key__c"] == "bk-1", "query rows in ORDER BY order")
    print("all simple-salesforce bulk2 checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
