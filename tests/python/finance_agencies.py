"""The seed's XML-RPC example, unchanged in spirit: list the finance SSC
agencies with Python's standard xmlrpc.client, as an Odoo script would.

Usage: finance_agencies.py URL DB LOGIN PASSWORD  (prints the agencies as JSON)
"""
import json
import sys
import xmlrpc.client

url, db, username, password = sys.argv[1:5]
common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
uid = common.authenticate(db, username, password, {})
if not uid:
    sys.exit("authentication failed")
models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
agencies = models.execute_kw(
    db, uid, password,
    "finance.ssc.agency", "search_read",
    [[["active", "=", True]]],
    {"fields": ["code", "name", "tin"], "order": "code"},
)
print(json.dumps(agencies))
