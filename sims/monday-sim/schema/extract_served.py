"""Regenerate served.graphql: the subset of monday's real schema the simulator serves.

Every definition is copied from the real SDL (names, argument lists, wrappers, defaults), then
trimmed to the fields and arguments listed in SPEC. Run from this folder:
    python3 extract_served.py monday-schema-2025-10.graphql > served.graphql
Needs graphql-core (pip install graphql-core).
"""
import sys
from graphql import parse, print_ast
from graphql.language import ast as A

ALL = None
# type -> {field: [args] | ALL} | ALL (all fields whose types are served)
SPEC = {
    "Query": {
        "boards": ["ids", "limit", "page", "state"],
        "items": ["ids", "limit", "page", "exclude_nonactive", "newest_first"],
        "next_items_page": ALL,
        "items_page_by_column_values": ["board_id", "columns", "cursor", "limit"],
        "users": ["emails", "ids", "kind", "limit", "name", "newest_first", "non_active", "page"],
        "me": ALL, "complexity": ALL, "version": ALL, "account": ALL,
        "webhooks": ["board_id", "app_webhooks_only"],
    },
    "Mutation": {
        "create_item": ["board_id", "item_name", "column_values", "group_id", "create_labels_if_missing"],
        "change_multiple_column_values": ALL, "change_simple_column_value": ALL,
        "change_column_value": ALL, "archive_item": ALL, "delete_item": ALL,
        "create_webhook": ALL, "delete_webhook": ALL, "move_item_to_group": ALL,
        "create_board": ["board_kind", "board_name", "description"],
        "create_column": ["board_id", "id", "title", "description", "column_type", "defaults"],
        "create_group": ["board_id", "group_name", "group_color"],
        "complexity": ALL,
    },
    "Board": {
        "id": ALL, "name": ALL, "state": ALL, "board_kind": ALL, "description": ALL,
        "created_at": ALL, "updated_at": ALL, "columns": ["ids", "types"], "groups": ["ids"],
        "items_page": ["limit", "cursor", "query_params"], "items_count": ALL, "url": ALL,
        "workspace": ALL, "workspace_id": ALL,
    },
    "Column": ["id", "title", "description", "type", "width", "archived", "settings", "settings_str"],
    "Group": {"id": ALL, "title": ALL, "color": ALL, "position": ALL, "archived": ALL,
              "deleted": ALL, "items_page": ["limit", "cursor", "query_params"]},
    "Item": {"id": ALL, "name": ALL, "state": ALL, "created_at": ALL, "updated_at": ALL,
             "creator_id": ALL, "creator": ALL, "board": ALL, "group": ALL,
             "column_values": ["ids", "types"], "url": ALL, "relative_link": ALL,
             "subitems": ALL},
    "ItemsResponse": ALL,
    "ColumnValue": ALL,
    "StatusLabelStyle": ALL, "DropdownValueOption": ALL, "PeopleEntity": ALL,
    "StatusValue": ALL, "DropdownValue": ALL, "NumbersValue": ALL, "DateValue": ALL,
    "TextValue": ALL, "LongTextValue": ALL, "PhoneValue": ALL, "EmailValue": ALL,
    "PeopleValue": ALL, "LinkValue": ALL, "CheckboxValue": ALL, "MirrorValue": ALL,
    "FormulaValue": ALL, "BoardRelationValue": ALL, "ItemIdValue": ALL, "DirectDocValue": ALL,
    "SubtasksValue": ALL, "UnsupportedValue": ALL,
    "User": ["id", "name", "email", "enabled", "is_admin", "is_guest", "is_pending",
             "is_view_only", "is_verified", "created_at", "join_date", "title", "url", "photo_thumb",
             "photo_original", "photo_small", "photo_thumb_small", "photo_tiny", "location",
             "time_zone_identifier", "teams", "account", "birthday", "country_code",
             "mobile_phone", "phone", "utc_hours_diff", "current_language"],
    "Account": ["id", "name", "slug", "tier", "country_code", "first_day_of_the_week",
                "show_timeline_weekends", "active_members_count", "logo"],
    "Team": ["id", "name", "picture_url", "is_guest"],
    "Workspace": ["id", "name", "kind", "description", "state", "created_at", "is_default_workspace"],
    "Version": ALL, "Complexity": ALL, "Webhook": ALL,
    "ItemsQuery": ALL, "ItemsQueryRule": ALL, "ItemsQueryOrderBy": ALL, "ItemsQueryGroup": ALL,
}
# Types served whole: every field and argument of the real schema, so any query a client
# writes against them validates. Fields the simulator has no data for answer as the real API
# does for an empty account (null, an empty list, a default). Object types they reach that are
# not in SPEC are served as stubs: their scalar and enum fields, and fields of served types.
FULL = ["Board", "Item", "Column", "ColumnValue", "User", "Account", "Group", "Update"]
for _name in FULL:
    SPEC[_name] = ALL
BUILTIN = {"ID", "String", "Int", "Float", "Boolean"}


def base(t):
    while not isinstance(t, A.NamedTypeNode):
        t = t.type
    return t.name.value


def strip(node):
    node = node.__class__(**{k: getattr(node, k) for k in node.keys})
    if hasattr(node, "description"):
        node.description = None
    if hasattr(node, "directives"):
        node.directives = tuple(d for d in (node.directives or ()) if d.name.value == "deprecated")
    return node


def main():
    doc = parse(open(sys.argv[1]).read())
    defs = {d.name.value: d for d in doc.definitions if getattr(d, "name", None)}
    wanted, out, queue, seen = set(SPEC), [], list(SPEC), set()
    # enums/scalars/inputs referenced by served fields get pulled in whole.
    while queue:
        name = queue.pop(0)
        if name in seen or name in BUILTIN:
            continue
        seen.add(name)
        d = strip(defs[name])
        spec = SPEC.get(name, ALL)
        if hasattr(d, "fields") and d.fields is not None:
            fields = []
            # A stub whose fields are all of unserved object types keeps them (as stubs too).
            stub = name not in SPEC and isinstance(d, (A.ObjectTypeDefinitionNode, A.InterfaceTypeDefinitionNode))
            keep_objects = stub and all(
                base(f.type) not in BUILTIN and base(f.type) not in SPEC and isinstance(
                    defs[base(f.type)], (A.ObjectTypeDefinitionNode, A.InterfaceTypeDefinitionNode, A.UnionTypeDefinitionNode))
                for f in d.fields)
            for f in d.fields:
                fname = f.name.value
                if spec is not ALL and fname not in spec:
                    continue
                if spec is ALL and name not in wanted:
                    pass
                ty = base(f.type)
                leaf = ty in BUILTIN or isinstance(defs[ty], (
                    A.EnumTypeDefinitionNode, A.ScalarTypeDefinitionNode, A.InputObjectTypeDefinitionNode))
                if stub and not keep_objects and not leaf and ty not in SPEC:
                    continue
                if spec is ALL and name in SPEC and name not in FULL and ty not in BUILTIN and ty not in SPEC and \
                        not isinstance(defs[ty], (A.EnumTypeDefinitionNode, A.ScalarTypeDefinitionNode, A.InputObjectTypeDefinitionNode)):
                    print(f"# skipped {name}.{fname}: {ty}", file=sys.stderr)
                    continue
                f = strip(f)
                argspec = spec.get(fname, ALL) if isinstance(spec, dict) else ALL
                if getattr(f, "arguments", None):
                    f.arguments = tuple(strip(a) for a in f.arguments
                                        if argspec is ALL or a.name.value in argspec)
                    for a in f.arguments:
                        queue.append(base(a.type))
                fields.append(f)
                queue.append(ty)
            d.fields = tuple(fields)
        if isinstance(d, A.ObjectTypeDefinitionNode) and d.interfaces:
            d.interfaces = tuple(i for i in d.interfaces if i.name.value in SPEC)
        if isinstance(d, A.EnumTypeDefinitionNode):
            d.values = tuple(strip(v) for v in d.values)
        out.append(d)
    order = {n: i for i, n in enumerate(SPEC)}
    out.sort(key=lambda d: (order.get(d.name.value, 1000), d.name.value))
    print("# Generated by extract_served.py from monday's real SDL (API 2025-10). Do not edit.")
    print("schema {\n  query: Query\n  mutation: Mutation\n}\n")
    print(print_ast(A.DocumentNode(definitions=tuple(out))))


main()
