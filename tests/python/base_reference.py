"""Reads Odoo's base reference data over XML-RPC with Python's standard
xmlrpc.client, as an Odoo 19 script would, on a brand-new database: the
Apps list before any update_list, countries and states by external id,
languages, currency rates, ir.model and ir.model.fields of an addon's
model, check_object_reference and its errors. Asserts as it goes; prints
`ok` and a JSON summary at the end.

Usage: base_reference.py URL DB USERNAME PASSWORD ADDONS_DIR...
"""
import json
import os
import sys
import tomllib
import xmlrpc.client

url, db, username, password = sys.argv[1:5]
addons_dirs = sys.argv[5:]

common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(url))
uid = common.authenticate(db, username, password, {})
assert uid, 'login failed'
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(url))


def call(model, method, *args, **kwargs):
    return models.execute_kw(db, uid, password, model, method, list(args), kwargs)


def fault(model, method, *args, **kwargs):
    try:
        call(model, method, *args, **kwargs)
    except xmlrpc.client.Fault as f:
        return f
    raise AssertionError('{}.{} did not fail'.format(model, method))


summary = {}

# Apps on a brand-new database, before any update_list.
manifests = {}
for root in addons_dirs:
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, 'addon.toml')
        if os.path.isfile(path):
            with open(path, 'rb') as f:
                manifests[name] = tomllib.load(f)
listed = call('ir.module.module', 'search_read', [], fields=[
    'name', 'state', 'shortdesc', 'summary', 'author', 'website', 'license',
    'icon', 'category_id', 'application', 'description'])
by_name = {m['name']: m for m in listed}
for name in os.listdir(addons_dirs[0]):
    if name in manifests:
        assert name in by_name, (name, sorted(by_name))
for name, module in by_name.items():
    manifest = manifests[name]
    assert module['state'] in ('uninstalled', 'uninstallable'), module
    assert module['shortdesc'] == manifest.get('title', ''), module
    assert (module['author'] or '') == manifest.get('author', ''), module
    assert (module['license'] or '') == manifest.get('license', 'LGPL-3'), module
    assert module['icon'].endswith('/static/description/icon.png'), module
    assert module['category_id'] and module['category_id'][1] == manifest.get('category', 'Uncategorized').split('/')[-1], module
summary['apps'] = len(listed)
account = by_name['account']
assert account['state'] == 'uninstalled' and account['summary'], account
category = call('ir.model.data', 'check_object_reference', 'base', 'module_category_accounting')
assert category == ['ir.module.category', account['category_id'][0]], category
apps = call('ir.module.category', 'read', [category[1]], ['name', 'module_ids'])[0]
assert account['id'] in apps['module_ids'], apps

# Countries by external id.
model, us = call('ir.model.data', 'check_object_reference', 'base', 'us')
assert model == 'res.country'
usd = call('ir.model.data', 'check_object_reference', 'base', 'USD')[1]
# EUR is archived, as in Odoo: the reference answers False for a record the
# caller's search (with active_test) does not find; the data row has it.
assert call('ir.model.data', 'check_object_reference', 'base', 'EUR') == ['res.currency', False]
eur = call('ir.model.data', 'search_read', [('module', '=', 'base'), ('name', '=', 'EUR')], ['res_id'])[0]['res_id']
country = call('res.country', 'read', [us], ['name', 'code', 'phone_code', 'currency_id'])[0]
assert country['name'] == 'United States' and country['code'] == 'US', country
assert country['phone_code'] == 1 and country['currency_id'][0] == usd, country
france = call('res.country', 'read', [call('ir.model.data', 'check_object_reference', 'base', 'fr')[1]], ['code', 'currency_id'])[0]
assert france['code'] == 'FR' and france['currency_id'][0] == eur, france
uk = call('res.country', 'read', [call('ir.model.data', 'check_object_reference', 'base', 'uk')[1]], ['code'])[0]
assert uk['code'] == 'GB', uk
summary['countries'] = call('res.country', 'search_count', [])

# The states of the US.
states = call('res.country.state', 'search_read', [['country_id', '=', us]], fields=['name', 'code', 'country_id'])
codes = {s['code'] for s in states}
assert {'CA', 'NY', 'TX', 'DC', 'PR'} <= codes, codes
assert all(s['country_id'][0] == us for s in states)
california = call('ir.model.data', 'check_object_reference', 'base', 'state_us_5')
assert california[0] == 'res.country.state'
assert call('res.country.state', 'read', [california[1]], ['name'])[0]['name'] == 'California'
summary['us_states'] = len(states)

# Languages: en_US active, the others hidden unless active_test is false.
en = call('res.lang', 'search_read', [['code', '=', 'en_US']], fields=['name', 'iso_code', 'url_code', 'active', 'direction', 'date_format', 'decimal_point', 'thousands_sep', 'grouping', 'week_start'])
assert len(en) == 1 and en[0]['active'] is True and en[0]['url_code'] == 'en', en
assert en[0]['date_format'] == '%m/%d/%Y' and en[0]['week_start'] == '7', en
assert call('ir.model.data', 'check_object_reference', 'base', 'lang_en') == ['res.lang', en[0]['id']]
assert call('res.lang', 'search', [['code', '=', 'fr_FR']]) == []
fr = call('res.lang', 'search_read', [['code', '=', 'fr_FR']], fields=['active', 'decimal_point'], context={'active_test': False})
assert len(fr) == 1 and fr[0]['active'] is False and fr[0]['decimal_point'] == ',', fr
arabic = call('res.lang', 'search_read', [['code', '=', 'ar_001']], fields=['direction'], context={'active_test': False})
assert arabic[0]['direction'] == 'rtl', arabic
summary['active_langs'] = call('res.lang', 'search_count', [])
summary['langs'] = call('res.lang', 'search_count', [], context={'active_test': False})

# Currencies and their rates.
dollar = call('res.currency', 'read', [usd], ['name', 'active', 'rate', 'decimal_places', 'position', 'currency_unit_label', 'symbol'])[0]
assert dollar['active'] is True and dollar['rate'] == 1.0 and dollar['decimal_places'] == 2, dollar
assert dollar['position'] == 'before' and dollar['currency_unit_label'] == 'Dollars', dollar
euro = call('res.currency', 'read', [eur], ['active', 'rate', 'position'])[0]
assert euro['active'] is False and euro['rate'] == 1.0 and euro['position'] == 'after', euro
first = call('res.currency.rate', 'create', {'name': '2020-01-01', 'rate': 1.1, 'currency_id': eur})
assert call('res.currency', 'read', [eur], ['rate'])[0]['rate'] == 1.1
later = call('res.currency.rate', 'create', {'name': '2021-06-01', 'rate': 0.9, 'currency_id': eur})
call('res.currency.rate', 'create', {'name': '2999-01-01', 'rate': 5.0, 'currency_id': eur})
euro = call('res.currency', 'read', [eur], ['rate', 'rate_ids'])[0]
assert euro['rate'] == 0.9 and len(euro['rate_ids']) == 3, euro
call('res.currency.rate', 'write', [later], {'rate': 0.8})
assert call('res.currency', 'read', [eur], ['rate'])[0]['rate'] == 0.8
call('res.currency.rate', 'unlink', [later])
assert call('res.currency', 'read', [eur], ['rate'])[0]['rate'] == 1.1
rate = call('res.currency.rate', 'read', [first], ['name', 'rate', 'currency_id', 'company_id'])[0]
assert rate['name'] == '2020-01-01' and rate['currency_id'][0] == eur and rate['company_id'] is False, rate
summary['eur_rate'] = 1.1

# ir.model and ir.model.fields of an addon's model, after installing it.
lab = call('ir.module.module', 'search', [['name', '=', 'agency_lab']])
call('ir.module.module', 'button_immediate_install', lab)
model = call('ir.model', 'search_read', [['model', '=', 'agency.doc']], fields=['model', 'name', 'info', 'state', 'modules', 'transient', 'order', 'field_id'])
assert len(model) == 1, model
model = model[0]
assert model['name'] == 'Agency Document' and model['state'] == 'base' and model['modules'] == 'agency_lab', model
assert model['transient'] is False and model['order'] == 'id' and model['field_id'], model
fields = call('ir.model.fields', 'search_read', [['model', '=', 'agency.doc']], fields=[
    'name', 'field_description', 'ttype', 'relation', 'required', 'readonly', 'store', 'index',
    'model_id', 'modules', 'state', 'on_delete', 'help'])
by_field = {f['name']: f for f in fields}
assert sorted(f['id'] for f in fields) == sorted(model['field_id']), (fields, model)
agency = by_field['agency_id']
assert agency['ttype'] == 'many2one' and agency['relation'] == 'finance.ssc.agency', agency
assert agency['model_id'][0] == model['id'] and agency['on_delete'] == 'cascade', agency
assert agency['modules'] == 'agency_lab' and agency['state'] == 'base' and agency['store'] is True, agency
assert by_field['name']['required'] is True and by_field['amount']['ttype'] == 'float', by_field
users = call('ir.model', 'search_read', [['model', '=', 'res.users']], fields=['modules'])[0]
assert users['modules'] == 'agency_lab, base', users
currency_field = call('ir.model.fields', 'search_read', [['model', '=', 'res.country'], ['name', '=', 'currency_id']], fields=['relation', 'ttype', 'field_description', 'modules'])
assert currency_field[0]['relation'] == 'res.currency' and currency_field[0]['field_description'] == 'Currency', currency_field
position = call('ir.model.fields', 'search_read', [['model', '=', 'res.currency'], ['name', '=', 'position']], fields=['selection'])
assert position[0]['selection'] == "[('after', 'After Amount'), ('before', 'Before Amount')]", position
summary['agency_doc_fields'] = sorted(by_field)

# check_object_reference: archived records are not found by the search.
assert call('ir.model.data', 'check_object_reference', 'base', 'lang_fr') == ['res.lang', False]
denied = fault('ir.model.data', 'check_object_reference', 'base', 'lang_fr', True)
assert denied.faultCode == 4 and "Not enough access rights on the external ID 'base.lang_fr'" in denied.faultString, denied

# Hostile: unknown, malformed, huge, wrong types, private.
before = call('ir.model.data', 'search_count', [])
errors = {}
for label, args in [
    ('unknown', ('base', 'nope')),
    ('no dot', ('nodot', '')),
    ('unknown module', ('nope', 'us')),
    ('wrong types', (1, 2)),
    ('list and dict', ([1], {'a': 1})),
    ('huge', ('base', 'x' * 100000)),
]:
    f = fault('ir.model.data', 'check_object_reference', *args)
    assert f.faultCode == 1 and 'External ID not found in the system: ' in f.faultString, (label, f.faultString[:300])
    assert len(f.faultString) < 1000, (label, len(f.faultString))
    errors[label] = f.faultString
assert errors['unknown'] == 'ValueError: External ID not found in the system: base.nope', errors['unknown']
missing = fault('ir.model.data', 'check_object_reference', 'base')
assert 'xml_id' in missing.faultString, missing.faultString
private = fault('ir.model.data', '_xmlid_lookup', 'base.us')
assert private.faultCode == 4 and 'Private methods' in private.faultString, private
assert call('ir.model.data', 'search_count', []) == before
assert call('ir.model.data', 'check_object_reference', 'base', 'us') == ['res.country', us], 'still serving'
summary['errors'] = sorted(errors)

print('ok')
print(json.dumps(summary, sort_keys=True))
