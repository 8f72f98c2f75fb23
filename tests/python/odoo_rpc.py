"""What the RPC test scripts share: an Odoo error as a client sees it, and
`execute_kw` over XML-RPC (Python's xmlrpc.client) and over JSON-RPC
(`/jsonrpc` with urllib), each raising `Refused(fault, message)`."""
import json
import urllib.request
import xmlrpc.client


class Refused(Exception):
    def __init__(self, fault, message):
        super().__init__(message)
        self.fault, self.message = fault, message


def over_xmlrpc(url, db, login, password):
    """`call(model, method, args, kwargs=None)` over XML-RPC, and the
    `common` service."""
    common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
    uid = common.authenticate(db, login, password, {})
    models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url), allow_none=True)

    def call(model, method, args, kwargs=None):
        try:
            return models.execute_kw(db, uid, password, model, method, args, kwargs or {})
        except xmlrpc.client.Fault as fault:
            raise Refused(fault.faultCode, fault.faultString)

    return call, common


def jsonrpc(url, service, method, *args):
    """One `/jsonrpc` call: its result, or `Refused(name, message)`."""
    body = json.dumps({'jsonrpc': '2.0', 'method': 'call', 'id': 1,
                       'params': {'service': service, 'method': method, 'args': list(args)}})
    request = urllib.request.Request(url + '/jsonrpc', data=body.encode(),
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    if 'error' in answer:
        data = answer['error']['data']
        raise Refused(data['name'], data['message'])
    return answer['result']


def over_jsonrpc(url, db, login, password):
    """`call(model, method, args, kwargs=None)` over JSON-RPC."""
    uid = jsonrpc(url, 'common', 'authenticate', db, login, password, {})

    def call(model, method, args, kwargs=None):
        return jsonrpc(url, 'object', 'execute_kw', db, uid, password, model, method, args, kwargs or {})

    return call
