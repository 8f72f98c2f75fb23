"""Odoo 19's people and companies, as a script written against Odoo drives
them over XML-RPC (Python's xmlrpc.client): companies and their contacts,
tags, users and their partners, groups, logins and preferences, the base
external ids, and a parent cycle refused. Prints one JSON line per step:
{"step", "value"}, where a refused call's value is {"fault": <faultCode>,
"message": ...}.

Usage: people_over_xmlrpc.py URL DB  (admin/admin)
"""
import json
import sys
import xmlrpc.client

url, db = sys.argv[1:3]
common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url), allow_none=True)
admin = common.authenticate(db, 'admin', 'admin', {})


def call(model, method, args, kwargs=None, uid=admin, password='admin'):
    return models.execute_kw(db, uid, password, model, method, args, kwargs or {})


def step(name, value):
    print(json.dumps({'step': name, 'value': value}), flush=True)


def refused(name, model, method, args, kwargs=None, **who):
    try:
        value = call(model, method, args, kwargs, **who)
    except xmlrpc.client.Fault as fault:
        value = {'fault': fault.faultCode, 'message': fault.faultString}
    step(name, value)


# The base external ids resolve.
wanted = ['main_company', 'main_partner', 'user_admin', 'partner_admin', 'group_user',
          'group_system', 'group_erp_manager', 'group_portal', 'group_public']
found = call('ir.model.data', 'search_read',
             [[['module', '=', 'base'], ['name', 'in', wanted]]], {'fields': ['name', 'model', 'res_id']})
step('external ids', {r['name']: [r['model'], r['res_id']] for r in found})
ids = {r['name']: r['res_id'] for r in found}
step('main company', call('res.company', 'read', [[ids['main_company']]],
                          {'fields': ['name', 'partner_id', 'currency_id']}))
step('admin', call('res.users', 'read', [[admin]],
                   {'fields': ['name', 'partner_id', 'company_id', 'company_ids', 'share', 'group_ids']}))

# A company with contacts: commercial partner and display name.
acme = call('res.partner', 'create', [{'name': 'Acme', 'is_company': True, 'email': 'hello@acme.example'}])
ann = call('res.partner', 'create', [{'name': 'Ann', 'parent_id': acme, 'function': 'Buyer'}])
billing = call('res.partner', 'create', [{'name': 'Bills', 'parent_id': ann, 'type': 'invoice'}])
fields = ['name', 'display_name', 'complete_name', 'commercial_partner_id', 'parent_id', 'type', 'color', 'lang']
step('partners', call('res.partner', 'read', [[acme, ann, billing]], {'fields': fields}))
step('child_ids', call('res.partner', 'read', [[acme]], {'fields': ['child_ids']})[0]['child_ids'])
step('name_search', call('res.partner', 'name_search', ['Acme, Ann']))
# The company renamed: its contacts' names follow.
call('res.partner', 'write', [[acme], {'name': 'Acme Corp'}])
step('renamed', call('res.partner', 'read', [[ann, billing]], {'fields': ['display_name']}))
# Ann becomes a company of her own: her contact's commercial partner is she.
call('res.partner', 'write', [[ann], {'is_company': True}])
step('ann a company', call('res.partner', 'read', [[ann, billing]],
                           {'fields': ['commercial_partner_id', 'display_name']}))
call('res.partner', 'write', [[ann], {'is_company': False}])
# A parent cycle is refused, and nothing changes.
refused('cycle', 'res.partner', 'write', [[acme], {'parent_id': billing}])
refused('own parent', 'res.partner', 'write', [[ann], {'parent_id': ann}])
step('after cycle', call('res.partner', 'read', [[acme]], {'fields': ['parent_id', 'commercial_partner_id']}))
# Archived contacts leave the company's contacts, unless active_test is false.
call('res.partner', 'action_archive', [[billing]])
step('archived child', call('res.partner', 'read', [[ann]], {'fields': ['child_ids']})[0]['child_ids'])
step('archived search', call('res.partner', 'search', [[['parent_id', '=', ann]]]))
step('archived search active_test false', call('res.partner', 'search', [[['parent_id', '=', ann]]],
                                              {'context': {'active_test': False}}))

# Tags through many2many commands.
vip = call('res.partner.category', 'create', [{'name': 'VIP', 'color': 3}])
call('res.partner', 'write', [[ann], {'category_id': [(4, vip), (0, 0, {'name': 'Buyer'})]}])
tags = call('res.partner', 'read', [[ann]], {'fields': ['category_id']})[0]['category_id']
step('tags', call('res.partner.category', 'read', [tags], {'fields': ['name', 'partner_ids', 'active']}))
call('res.partner', 'write', [[ann], {'category_id': [(3, vip)]}])
step('tag removed', call('res.partner', 'read', [[ann]], {'fields': ['category_id']})[0]['category_id'])
child_tag = call('res.partner.category', 'create', [{'name': 'Gold', 'parent_id': vip}])
step('tag children', call('res.partner.category', 'read', [[vip]], {'fields': ['child_ids']})[0]['child_ids'])

# A user and the partner made with it.
internal = ids['group_user']
zoe = call('res.users', 'create', [{'name': 'Zoe', 'login': 'zoe', 'password': 'zoe-pw',
                                    'email': 'zoe@example.com', 'lang': 'fr_FR', 'tz': 'Europe/Brussels',
                                    'group_ids': [(6, 0, [internal])]}])
user_fields = ['name', 'email', 'lang', 'tz', 'partner_id', 'company_id', 'company_ids', 'share', 'login_date']
step('zoe', call('res.users', 'read', [[zoe]], {'fields': user_fields})[0])
partner = call('res.users', 'read', [[zoe]], {'fields': ['partner_id']})[0]['partner_id'][0]
step('zoe partner', call('res.partner', 'read', [[partner]], {'fields': ['name', 'email', 'lang', 'tz', 'user_ids']})[0])
# Renamed on either side, both read the same.
call('res.users', 'write', [[zoe], {'name': 'Zoé Martin'}])
call('res.partner', 'write', [[partner], {'email': 'zoe.martin@example.com'}])
step('zoe renamed', call('res.users', 'read', [[zoe]], {'fields': ['name', 'email']})[0])
step('zoe partner renamed', call('res.partner', 'read', [[partner]], {'fields': ['name', 'email']})[0])
step('users by partner email', call('res.users', 'search', [[['email', '=', 'zoe.martin@example.com']]]))

# Logging in sets login_date; context_get answers her language and zone.
zoe_uid = common.authenticate(db, 'zoe', 'zoe-pw', {})
step('zoe uid', zoe_uid)
step('login_date', call('res.users', 'read', [[zoe]], {'fields': ['login_date']})[0]['login_date'])
step('zoe context_get', call('res.users', 'context_get', [], uid=zoe_uid, password='zoe-pw'))
step('zoe reads contacts', call('res.partner', 'search_count', [[['id', '=', acme]]], uid=zoe_uid, password='zoe-pw'))
refused('zoe writes a contact', 'res.partner', 'write', [[acme], {'name': 'Mine'}], uid=zoe_uid, password='zoe-pw')
refused('zoe takes the admin partner', 'res.users', 'write', [[zoe], {'partner_id': ids['partner_admin']}],
        uid=zoe_uid, password='zoe-pw')
refused('login_date by a client', 'res.users', 'write', [[zoe], {'login_date': '2020-01-01 00:00:00'}])
refused('user of a missing partner', 'res.users', 'create', [{'name': 'Ghost', 'login': 'ghost', 'partner_id': 999999}])

# Share: a portal user is one, an internal user is not.
portal = call('res.users', 'create', [{'name': 'Pat', 'login': 'pat', 'group_ids': [(6, 0, [ids['group_portal']])]}])
step('share', call('res.users', 'read', [[zoe, portal, admin]], {'fields': ['share']}))

# group_ids and user_ids are two sides of one relation.
system = ids['group_system']
call('res.groups', 'write', [[system], {'user_ids': [(4, zoe)]}])
step('zoe groups', call('res.users', 'read', [[zoe]], {'fields': ['group_ids']})[0]['group_ids'])
step('system users', call('res.groups', 'read', [[system]], {'fields': ['user_ids', 'implied_ids']})[0])
call('res.users', 'write', [[zoe], {'group_ids': [(3, system)]}])
step('system users after', call('res.groups', 'read', [[system]], {'fields': ['user_ids']})[0]['user_ids'])

# A company and its partner.
company = call('res.company', 'create', [{'name': 'Beta Ltd', 'email': 'info@beta.example', 'phone': '+32 2 000'}])
step('company', call('res.company', 'read', [[company]], {'fields': ['name', 'email', 'partner_id']})[0])
company_partner = call('res.company', 'read', [[company]], {'fields': ['partner_id']})[0]['partner_id'][0]
step('company partner', call('res.partner', 'read', [[company_partner]],
                             {'fields': ['name', 'email', 'phone', 'is_company', 'commercial_partner_id']})[0])
call('res.partner', 'write', [[company_partner], {'phone': '+32 2 111'}])
step('company phone', call('res.company', 'read', [[company]], {'fields': ['phone']})[0]['phone'])
# Countries: the partner's address, which its company reads too.
belgium = call('res.country', 'search', [[['code', '=', 'BE']]])[0]
call('res.partner', 'write', [[company_partner], {'country_id': belgium, 'city': 'Brussels'}])
step('company country', call('res.company', 'read', [[company]], {'fields': ['country_id', 'city']})[0])
step('partners in belgium', call('res.partner', 'search', [[['country_id.code', '=', 'BE']]]))
print(json.dumps({'step': 'done', 'value': True}))
