"""Odoo's `common` and `db` services as Python's xmlrpc.client calls them:
prints one JSON line per call, `{name: answer}`, a fault as
`{"fault": code, "string": text}`.

Usage: web_services.py URL DB
"""
import json
import sys
import xmlrpc.client

url, db = sys.argv[1:3]
common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
dbs = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/db")


def show(name, call):
    try:
        value = call()
    except xmlrpc.client.Fault as fault:
        value = {"fault": fault.faultCode, "string": fault.faultString}
    print(json.dumps({name: value}))


show("about", lambda: common.about())
show("about_extended", lambda: common.about(True))
show("version", lambda: common.version())
show("list", lambda: dbs.list())
show("db_exist", lambda: dbs.db_exist(db))
show("drop_unknown", lambda: dbs.drop("admin", "no_such_database"))
show("drop_served", lambda: dbs.drop("admin", db))
show("create", lambda: dbs.create_database("admin", "another", False, "en_US"))
