"""An Odoo 19 integration written with odoo-client-lib (PyPI
`odoo-client-lib`, legacy XML-RPC), unmodified: the same steps as with_odoorpc.py,
in this library's idiom. One JSON line per step, checked by
tests/client_libraries.rs.

Usage: with_odoolib.py URL DB
"""
import json
import sys
import xmlrpc.client
from urllib.parse import urlsplit

import odoolib
from odoolib.tools import AuthenticationError

url, db = sys.argv[1:3]
address = urlsplit(url)


def out(key, value):
    print(json.dumps({key: value}), flush=True)


def connect(login, password):
    return odoolib.get_connection(hostname=address.hostname, port=address.port, protocol='xmlrpc',
                                  database=db, login=login, password=password)


def error_of(call):
    """The Odoo exception a call raised, as `name: message` (an XML-RPC
    fault's text is the message; its code tells the kind)."""
    try:
        call()
    except xmlrpc.client.Fault as fault:
        return '{}: {}'.format(fault.faultCode, fault.faultString)
    return 'no error'


connection = connect('admin', 'admin')
out('version', connection.get_service('common').version()['server_version'])
connection.check_login()
out('uid', connection.user_id)
context = connection.get_user_context()
out('context', {key: context.get(key) for key in ('lang', 'tz', 'uid')})
Users = connection.get_model('res.users')
out('user', Users.read(connection.user_id, ['name'])['name'])

# Partners: a company with a contact.
Partner = connection.get_model('res.partner')
acme = Partner.create({'name': 'Acme', 'is_company': True})
jane = Partner.create({'name': 'Jane', 'parent_id': acme, 'email': 'jane@acme.test'})
record = Partner.read(jane, ['display_name', 'commercial_partner_id', 'parent_id', 'email', 'type'])
out('contact', {
    'display_name': record['display_name'],
    'commercial_partner': record['commercial_partner_id'][0] == acme,
    'parent': record['parent_id'][1],
    'email': record['email'],
    'type': record['type'],
})
Partner.write([jane], {'phone': '+1 555 0100'})
out('written', Partner.read(jane, ['phone'])['phone'])
out('search', Partner.search([('parent_id', '=', acme)]) == [jane])
out('name_search', [name for _, name in Partner.name_search('Jan')])
temp = Partner.create({'name': 'Temporary'})
Partner.unlink([temp])
out('unlinked', Partner.search([('id', '=', temp)]))

# Archived records.
Partner.action_archive([jane])
out('archived_hidden', Partner.search([('name', '=', 'Jane')]))
out('archived_with_active_test_false',
    Partner.search([('name', '=', 'Jane')], context={'active_test': False}) == [jane])
out('archived_read_by_id', Partner.read(jane, ['active'])['active'])
Partner.action_unarchive([jane])
out('unarchived', Partner.search([('name', '=', 'Jane')]) == [jane])

# Many2many and one2many commands.
Category = connection.get_model('res.partner.category')
vip = Category.create({'name': 'VIP'})
gold = Category.create({'name': 'Gold'})


def categories():
    return sorted(Partner.read(jane, ['category_id'])['category_id'])


Partner.write([jane], {'category_id': [(6, 0, [vip, gold])]})
out('m2m_set', categories() == sorted([vip, gold]))
Partner.write([jane], {'category_id': [(3, gold)]})
out('m2m_unlink', categories() == [vip])
Partner.write([jane], {'category_id': [(4, gold)]})
out('m2m_link', categories() == sorted([vip, gold]))
Partner.write([jane], {'category_id': [(5,)]})
out('m2m_clear', categories())
Partner.write([acme], {'child_ids': [(0, 0, {'name': 'Bob'}), (1, jane, {'function': 'CFO'})]})
children = Partner.search_read([('parent_id', '=', acme)], ['name', 'function'], order='name')
out('o2m_create_update', [[child['name'], child['function']] for child in children])
bob = [child['id'] for child in children if child['name'] == 'Bob'][0]
Partner.write([acme], {'child_ids': [(2, bob)]})
out('o2m_delete', Partner.search([('id', '=', bob)], context={'active_test': False}))
out('o2m_read', Partner.read(acme, ['child_ids'])['child_ids'] == [jane])

# Groupings: Odoo 19's formatted_read_group and the older read_group.
Partner.write([jane], {'color': 3})
Partner.write([acme], {'color': 4})
mine = [('id', 'in', [acme, jane])]
groups = Partner.formatted_read_group(mine, ['parent_id'], ['__count', 'color:sum'], order='parent_id')
out('formatted_read_group', [[g['parent_id'], g['__count'], g['color:sum']] for g in groups])
groups = Partner.read_group(mine, ['color:sum'], ['parent_id'], orderby='parent_id')
out('read_group', [[g['parent_id'], g['parent_id_count'], g['color']] for g in groups])

# External ids.
Data = connection.get_model('ir.model.data')
model, main = Data.check_object_reference('base', 'main_partner')
out('ref_main_partner', [model, Partner.read(main, ['name'])['name']])
out('ref_admin', Data.check_object_reference('base', 'user_admin')[1] == connection.user_id)
out('ref_group_user', Data.check_object_reference('base', 'group_user')[0])
out('ref_unknown', error_of(lambda: Data.check_object_reference('base', 'no_such_thing')))

# Each kind of error.
out('ValidationError', error_of(lambda: Partner.write([acme], {'parent_id': jane})))
out('MissingError', error_of(lambda: Partner.write([999999], {'name': 'x'})))
out('ValueError', error_of(lambda: Partner.search([('no_such_field', '=', 1)])))
out('UserError', error_of(lambda: connection.get_model('ir.module.module').write(
    [1], {'state': 'installed'})))
out('AttributeError', error_of(lambda: Partner.no_such_method([acme])))
group_user = Data.check_object_reference('base', 'group_user')[1]
Users.create({'name': 'Clerk', 'login': 'clerk', 'password': 'clerk-pw-1',
              'group_ids': [(6, 0, [group_user])]})
clerk = connect('clerk', 'clerk-pw-1')
out('AccessError', error_of(lambda: clerk.get_model('res.users').create(
    {'name': 'Mallory', 'login': 'mallory'})))
try:
    connect('admin', 'wrong').check_login()
    out('AccessDenied', 'no error')
except AuthenticationError as error:
    out('AccessDenied', str(error))
out('unchanged', Partner.search_count([('name', 'in', ['Mallory', 'Acme', 'Jane'])]))
