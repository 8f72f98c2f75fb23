"""Triggers each kind of error Pulse can answer with, over XML-RPC (with
Python's xmlrpc.client) and over JSON-RPC (/jsonrpc, with urllib), and
prints what a client sees: one line per case and transport.

Usage: rpc_errors.py URL DB DOC  (agency_lab installed; user ana, password
ana-pw, in the Agency User group of agency A; DOC a document of agency B)
"""
import json
import sys
import urllib.request
import xmlrpc.client

url, db = sys.argv[1:3]
secret_doc = int(sys.argv[3])  # a document of agency B
admin = ('admin', 'admin')
ana = ('ana', 'ana-pw')

CASES = [
    # (case, (login, password), model, method, args, kwargs)
    ('AccessDenied: wrong password', ('admin', 'wrong'), 'finance.ssc.agency', 'search', [[]], {}),
    ('AccessError: no access rights', ana, 'res.users', 'search', [[]], {}),
    ('AccessError: record rule', ana, 'agency.doc', 'read', [[secret_doc], ['name']], {}),
    ('AccessError: private method', admin, 'finance.ssc.agency', '_secret', [[]], {}),
    ('ValidationError: required field', admin, 'finance.ssc.agency', 'create', [{'code': 'Z'}], {}),
    ('ValidationError: unique', admin, 'finance.ssc.agency', 'create', [{'code': 'DUP', 'name': 'Dup'}], {}),
    ('MissingError: write on a deleted record', admin, 'finance.ssc.agency', 'write', [[999999], {'name': 'x'}], {}),
    ('UserError: lifecycle misuse', admin, 'ir.module.module', 'write', [[1], {'state': 'installed'}], {}),
    ('KeyError: unknown model', admin, 'no.such.model', 'search', [[]], {}),
    ('AttributeError: unknown method', admin, 'finance.ssc.agency', 'no_such_method', [[]], {}),
    ('ValueError: unknown field in a domain', admin, 'finance.ssc.agency', 'search', [[['nope', '=', 1]]], {}),
    ('ValueError: bad order', admin, 'finance.ssc.agency', 'search', [[]], {'order': 'name; drop table x'}),
]


def uid_of(login, password):
    common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
    return common.authenticate(db, login, password, {}) or 1


def jsonrpc(service, method, *args):
    body = json.dumps({'jsonrpc': '2.0', 'method': 'call', 'id': 7,
                       'params': {'service': service, 'method': method, 'args': list(args)}}).encode()
    request = urllib.request.Request(url + '/jsonrpc', data=body,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read())


# One record for the unique case.
admin_uid = uid_of(*admin)
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url))
models.execute_kw(db, admin_uid, 'admin', 'finance.ssc.agency', 'create', [{'code': 'DUP', 'name': 'Dup'}])

for case, (login, password), model, method, args, kwargs in CASES:
    uid = uid_of(login, 'admin' if login == 'admin' else password)
    try:
        models.execute_kw(db, uid, password, model, method, args, kwargs)
        print('{} | xmlrpc | no fault'.format(case))
    except xmlrpc.client.Fault as fault:
        print('{} | xmlrpc | faultCode={} | faultString={}'.format(
            case, fault.faultCode, json.dumps(fault.faultString)))
    status, answer = jsonrpc('object', 'execute_kw', db, uid, password, model, method, args, kwargs)
    error = answer.get('error')
    if error is None:
        print('{} | jsonrpc | no error: {}'.format(case, answer))
    else:
        print('{} | jsonrpc | http={} code={} message={} name={} text={} arguments_match={}'.format(
            case, status, error['code'], json.dumps(error['message']), error['data']['name'],
            json.dumps(error['data']['message']), error['data']['arguments'] == [error['data']['message']]))

# The legacy endpoint (/xmlrpc/object) answers with text fault codes.
legacy = xmlrpc.client.ServerProxy('{}/xmlrpc/object'.format(url))
for case, (login, password), model, method, args, kwargs in CASES:
    uid = uid_of(login, 'admin' if login == 'admin' else password)
    try:
        legacy.execute_kw(db, uid, password, model, method, args, kwargs)
        print('{} | legacy xmlrpc | no fault'.format(case))
    except xmlrpc.client.Fault as fault:
        print('{} | legacy xmlrpc | faultCode={} | faultString={}'.format(
            case, json.dumps(fault.faultCode), json.dumps(fault.faultString)))
