"""Odoo's context and archived records, as a script written against Odoo
drives them: over XML-RPC (Python's xmlrpc.client) and over JSON-RPC
(/jsonrpc with urllib), each with `object.execute_kw` and `kwargs
['context']`. Prints one JSON line per step: {"transport", "step", "value"},
where a refused call's value is {"fault": <XML-RPC faultCode or JSON-RPC
data.name>, "message": ...}.

Usage: context_over_rpc.py URL DB  (domain_lab installed; admin/admin)
"""
import json
import sys

import odoo_rpc
from odoo_rpc import Refused

url, db = sys.argv[1:3]
password = 'admin'


def over_xmlrpc():
    call, common = odoo_rpc.over_xmlrpc(url, db, 'admin', password)
    return call, lambda: common.version()['server_version']


def over_jsonrpc():
    call = odoo_rpc.over_jsonrpc(url, db, 'admin', password)
    return call, lambda: odoo_rpc.jsonrpc(url, 'common', 'version')['server_version']


def run(transport, call, version):
    def step(name, thunk):
        try:
            value = thunk()
        except Refused as refused:
            value = {'fault': refused.fault, 'message': refused.message}
        print(json.dumps({'transport': transport, 'step': name, 'value': value}), flush=True)
        return value

    name = 'Archived by ' + transport
    everything = {'context': {'active_test': False}}
    # What odoorpc asks right after logging in.
    step('context_get', lambda: call('res.users', 'context_get', []))
    record = step('create', lambda: call('lab.partner', 'create', [{'name': name}]))
    mine = [['name', '=', name]]
    step('archive', lambda: call('lab.partner', 'action_archive', [[record]]))
    step('search', lambda: call('lab.partner', 'search', [mine]))
    step('search_count', lambda: call('lab.partner', 'search_count', [mine]))
    step('name_search', lambda: call('lab.partner', 'name_search', [name]))
    step('search_read', lambda: call('lab.partner', 'search_read', [mine], {'fields': ['active']}))
    step('read_group', lambda: call('lab.partner', 'read_group', [mine, ['age'], []]))
    step('search active_test false',
         lambda: call('lab.partner', 'search', [mine], everything))
    step('search_read active_test false',
         lambda: call('lab.partner', 'search_read', [mine], dict(everything, fields=['active'])))
    step('search_count active_test false',
         lambda: call('lab.partner', 'search_count', [mine], everything))
    step('read_group active_test false',
         lambda: call('lab.partner', 'read_group', [mine, ['age'], []], everything))
    step('name_search active_test false',
         lambda: call('lab.partner', 'name_search', [name], everything))
    step('search on active',
         lambda: call('lab.partner', 'search', [mine + [['active', '=', False]]]))
    step('read by id', lambda: call('lab.partner', 'read', [[record], ['active']]))
    # Odoo tests the flag with Python's truth value.
    step('active_test 0', lambda: call('lab.partner', 'search', [mine], {'context': {'active_test': 0}}))
    step('active_test "false"',
         lambda: call('lab.partner', 'search', [mine], {'context': {'active_test': 'false'}}))
    step('unarchive', lambda: call('lab.partner', 'action_unarchive', [[record]]))
    step('search after unarchive', lambda: call('lab.partner', 'search', [mine]))
    # Odoo's domain normalisation.
    step('= with a list',
         lambda: call('lab.partner', 'search', [[['name', '=', [name, 'Acme Corp']]]], {'order': 'id'}))
    step('!= with a list',
         lambda: call('lab.partner', 'search_count', [[['name', '!=', [name, 'Acme Corp']]]]))
    step('in with one value', lambda: call('lab.partner', 'search', [[['id', 'in', record]]]))
    step('=? with nothing', lambda: call('lab.partner', 'search', [mine + [['code', '=?', False]]]))
    step('=? with a value', lambda: call('lab.partner', 'search', [mine + [['code', '=?', 'ACM']]]))
    # Hostile contexts: refused by name, and the server goes on serving.
    step('context not a dictionary',
         lambda: call('lab.partner', 'search', [mine], {'context': 'active_test=False'}))
    step('context a list', lambda: call('lab.partner', 'search', [mine], {'context': [1, 2]}))
    step('company ids not a list',
         lambda: call('lab.partner', 'search', [mine], {'context': {'allowed_company_ids': 'all'}}))
    step('huge context',
         lambda: call('lab.partner', 'search', [mine], {'context': {'note': 'x' * 100000}}))
    deep = 1
    for _ in range(60):
        deep = [deep]
    step('deep context', lambda: call('lab.partner', 'search', [mine], {'context': {'deep': deep}}))
    step('version after', version)
    step('unlink', lambda: call('lab.partner', 'unlink', [[record]]))


run('xmlrpc', *over_xmlrpc())
run('jsonrpc', *over_jsonrpc())
