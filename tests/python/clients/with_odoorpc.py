"""An Odoo 19 integration written with OdooRPC (PyPI `OdooRPC`, JSON-RPC),
unmodified: log in, work with partners, archived records, x2many commands,
groupings, external ids and each kind of error. One JSON line per step,
checked by tests/client_libraries.rs; the same steps as with_odoolib.py.

Usage: with_odoorpc.py URL DB
"""
import json
import sys
from urllib.parse import urlsplit

import odoorpc

url, db = sys.argv[1:3]
address = urlsplit(url)


def out(key, value):
    print(json.dumps({key: value}), flush=True)


def error_of(call):
    """The Odoo exception a call raised, as `name: message`."""
    try:
        call()
    except odoorpc.error.RPCError as error:
        data = error.info.get('data', {}) if isinstance(error.info, dict) else {}
        return '{}: {}'.format(data.get('name', '?'), data.get('message', str(error)))
    return 'no error'


odoo = odoorpc.ODOO(address.hostname, port=address.port)
out('version', odoo.version)
odoo.login(db, 'admin', 'admin')
out('uid', odoo.env.uid)
out('context', {key: odoo.env.context.get(key) for key in ('lang', 'tz', 'uid')})
out('user', odoo.env.user.name)

# Partners: a company with a contact.
Partner = odoo.env['res.partner']
acme = Partner.create({'name': 'Acme', 'is_company': True})
jane = Partner.create({'name': 'Jane', 'parent_id': acme, 'email': 'jane@acme.test'})
record = Partner.browse(jane)
out('contact', {
    'display_name': record.display_name,
    'commercial_partner': record.commercial_partner_id.id == acme,
    'parent': record.parent_id.name,
    'email': record.email,
    'type': record.type,
})
record.phone = '+1 555 0100'  # written at once (auto_commit)
out('written', Partner.read([jane], ['phone'])[0]['phone'])
out('search', Partner.search([('parent_id', '=', acme)]) == [jane])
out('name_search', [name for _, name in Partner.name_search('Jan')])
temp = Partner.create({'name': 'Temporary'})
Partner.unlink([temp])
out('unlinked', Partner.search([('id', '=', temp)]))

# Archived records.
record.action_archive()
out('archived_hidden', Partner.search([('name', '=', 'Jane')]))
out('archived_with_active_test_false',
    Partner.with_context(active_test=False).search([('name', '=', 'Jane')]) == [jane])
out('archived_read_by_id', Partner.read([jane], ['active'])[0]['active'])
record.action_unarchive()
out('unarchived', Partner.search([('name', '=', 'Jane')]) == [jane])

# Many2many and one2many commands.
Category = odoo.env['res.partner.category']
vip = Category.create({'name': 'VIP'})
gold = Category.create({'name': 'Gold'})


def categories():
    return sorted(Partner.read([jane], ['category_id'])[0]['category_id'])


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
out('o2m_delete', Partner.with_context(active_test=False).search([('id', '=', bob)]))
out('o2m_read', Partner.read([acme], ['child_ids'])[0]['child_ids'] == [jane])

# Groupings: Odoo 19's formatted_read_group and the older read_group.
Partner.write([jane], {'color': 3})
Partner.write([acme], {'color': 4})
mine = [('id', 'in', [acme, jane])]
groups = Partner.formatted_read_group(mine, ['parent_id'], ['__count', 'color:sum'], order='parent_id')
out('formatted_read_group', [[g['parent_id'], g['__count'], g['color:sum']] for g in groups])
groups = Partner.read_group(mine, ['color:sum'], ['parent_id'], orderby='parent_id')
out('read_group', [[g['parent_id'], g['parent_id_count'], g['color']] for g in groups])

# External ids.
main = odoo.env.ref('base.main_partner')
out('ref_main_partner', [main._name, main.name])
out('ref_admin', odoo.env.ref('base.user_admin').id == odoo.env.uid)
out('ref_group_user', odoo.env.ref('base.group_user')._name)
out('ref_unknown', error_of(lambda: odoo.env.ref('base.no_such_thing')))

# Each kind of error.
out('ValidationError', error_of(lambda: Partner.write([acme], {'parent_id': jane})))
out('MissingError', error_of(lambda: Partner.write([999999], {'name': 'x'})))
out('ValueError', error_of(lambda: Partner.search([('no_such_field', '=', 1)])))
out('UserError', error_of(lambda: odoo.execute_kw(
    'ir.module.module', 'write', [[1], {'state': 'installed'}], {})))
out('AttributeError', error_of(lambda: Partner.no_such_method([acme])))
users = odoo.env['res.users']
users.create({'name': 'Clerk', 'login': 'clerk', 'password': 'clerk-pw-1',
              'group_ids': [(6, 0, [odoo.env.ref('base.group_user').id])]})
clerk = odoorpc.ODOO(address.hostname, port=address.port)
clerk.login(db, 'clerk', 'clerk-pw-1')
out('AccessError', error_of(lambda: clerk.execute_kw(
    'res.users', 'create', [{'name': 'Mallory', 'login': 'mallory'}], {})))
try:
    odoorpc.ODOO(address.hostname, port=address.port).login(db, 'admin', 'wrong')
    out('AccessDenied', 'no error')
except odoorpc.error.RPCError as error:
    out('AccessDenied', str(error))
out('unchanged', Partner.search_count([('name', 'in', ['Mallory', 'Acme', 'Jane'])]))
