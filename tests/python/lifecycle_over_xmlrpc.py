"""Drives the Apps lifecycle of Pulse over XML-RPC with Python's standard
xmlrpc.client, as an Odoo script would: update_list, button_install and
upgrade_module; the external-API snippet of Odoo's documentation; then
button_upgrade and button_uninstall. Prints one JSON object per step.

Usage: lifecycle_over_xmlrpc.py URL DB USERNAME PASSWORD
"""
import json
import sys
import xmlrpc.client

url, db, username, password = sys.argv[1:5]


def out(**values):
    print(json.dumps(values, sort_keys=True), flush=True)


common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
out(version=common.version())
uid = common.authenticate(db, username, password, {})
out(uid=uid)
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url))


def call(model, method, *args, **kwargs):
    return models.execute_kw(db, uid, password, model, method, list(args), kwargs)


def state(ids):
    return call('ir.module.module', 'read', ids, ['state', 'latest_version'])[0]


out(update_list=call('ir.module.module', 'update_list'))
ids = call('ir.module.module', 'search', [['name', '=', 'agency_lab']])
out(found=len(ids))
out(button_install=call('ir.module.module', 'button_install', ids))
out(marked=state(ids))
wizard = call('base.module.upgrade', 'create', {})
out(upgrade_module=call('base.module.upgrade', 'upgrade_module', [wizard]))
out(installed=state(ids))
out(module=call('ir.module.module', 'read', ids, ['installed_version', 'depends', 'shortdesc'])[0])
out(ir_model=call('ir.model', 'search_read', [['model', '=', 'agency.doc']], fields=['model', 'name', 'module']))
out(ir_model_data=call('ir.model.data', 'search_count', [['module', '=', 'agency_lab']]))
out(ir_model_fields=call('ir.model.fields', 'search_read', [['model', '=', 'res.users'], ['module', '=', 'agency_lab']], fields=['name', 'ttype']))
try:
    call('ir.model', 'write', [1], {'name': 'x'})
    out(ledger_write='accepted')
except xmlrpc.client.Fault as fault:
    out(ledger_write=fault.faultCode)

call('finance.ssc.agency', 'create', [
    {'code': 'A', 'name': 'Agency A', 'tin': '111-222'},
    {'code': 'B', 'name': 'Agency B', 'tin': '333-444', 'active': False},
])

# The snippet from the issue, verbatim.
common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
uid = common.authenticate(db, username, password, {})
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url))
records = models.execute_kw(db, uid, password,
    'finance.ssc.agency', 'search_read',
    [[['active', '=', True]]],
    {'fields': ['code', 'name', 'tin']}
)
out(records=records)

out(button_upgrade=call('ir.module.module', 'button_upgrade', ids))
out(marked_upgrade=state(ids))
out(upgrade_module=call('base.module.upgrade', 'upgrade_module', [wizard]))
out(upgraded=state(ids))

out(button_uninstall=call('ir.module.module', 'button_uninstall', ids))
out(marked_uninstall=state(ids))
out(upgrade_module=call('base.module.upgrade', 'upgrade_module', [wizard]))
out(uninstalled=state(ids))
