"""Drive the simulator with the unmodified PyPI `monday` client (ProdPerfect, pinned in
requirements.txt). The client hard-codes https://api.monday.com/v2 with no option to change
it, so this script points its URL table at the simulator before building the client; nothing
else is patched. Env: MONDAY_SIM_URL, MONDAY_SIM_TOKEN, MONDAY_SIM_BOARD. Exit 0 = all good.
"""
import os
import sys

import monday.resources.base as base
from monday import MondayClient
from monday.exceptions import MondayQueryError

url, token, board = os.environ["MONDAY_SIM_URL"], os.environ["MONDAY_SIM_TOKEN"], os.environ["MONDAY_SIM_BOARD"]
base._URLS["prod"] = url
client = MondayClient(token)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


# The client's first call in most scripts: boards with permissions and tags (real fields the
# simulator once refused).
boards = client.boards.fetch_boards(limit=5)
check("errors" not in boards and boards["data"]["boards"], f"fetch_boards: {boards}")
check(all(b["permissions"] and b["tags"] == [] for b in boards["data"]["boards"]), f"boards: {boards}")
by_id = client.boards.fetch_boards_by_id(board)
check("errors" not in by_id and by_id["data"]["boards"][0]["id"] == board, f"fetch_boards_by_id: {by_id}")

me = client.me.get_details()["data"]["me"]
check("@" in me["email"] and me["enabled"] is True, f"me: {me}")

cols = client.boards.fetch_columns_by_board_id(board)["data"]["boards"][0]
types = {c["id"]: c["type"] for c in cols["columns"]}
check(types.get("status") == "status" and types.get("person") == "people", f"columns: {types}")
check(len(cols["groups"]) >= 1, "groups")

users = client.users.fetch_users()["data"]["users"]
check(len(users) >= 3 and all(u["email"] for u in users), f"users: {users}")

items = client.boards.fetch_all_items_by_board_id(board, limit=15)
check(len(items) == 40, f"all items through cursors: {len(items)}")
done = client.boards.fetch_items_by_board_id(board, query_params={"rules": [{"column_id": "status", "compare_value": [1]}]}, limit=100)
done_items = done["data"]["boards"][0]["items_page"]["items"]
check(done_items and all(next(c for c in i["column_values"] if c["id"] == "status")["text"] == "Closed Won" for i in done_items), "status filter")

group = cols["groups"][0]["id"]
created = client.items.create_item(board, group, 'Client "check" item', {"status": {"label": "On hold"}, "company": "Pyco", "deal_value": "12.5"})
item_id = created["data"]["create_item"]["id"]
changed = client.items.change_multiple_column_values(board, item_id, {"status": {"label": "Closed Won"}, "company": "Pyco Ltd"})
texts = {c["id"]: c["text"] for c in changed["data"]["change_multiple_column_values"]["column_values"]}
check(texts["status"] == "Closed Won" and texts["company"] == "Pyco Ltd" and texts["deal_value"] == "12.5", f"change: {texts}")
one = client.items.change_item_value(board, item_id, "notes", {"text": "hello"})
check(any(c["id"] == "notes" and c["text"] == "hello" for c in one["data"]["change_column_value"]["column_values"]), "change_column_value")
fetched = client.items.fetch_items_by_id([int(item_id)])["data"]["items"][0]
check(fetched["name"] == 'Client "check" item', f"fetch by id: {fetched['name']}")

try:
    client.items.change_multiple_column_values(board, item_id, {"status": {"label": "No such label"}})
    check(False, "unknown label must fail")
except MondayQueryError as e:
    check("label does not exist" in str(e), f"error message: {e}")

archived = client.items.archive_item_by_id(item_id)
check(archived["data"]["archive_item"]["id"] == item_id, "archive")
cx = client.complexity.get_complexity()["data"]["complexity"]
check(cx["after"] > 0 and cx["reset_in_x_seconds"] > 0, f"complexity: {cx}")
print("client check ok")
