"""Odoo 19's ORM methods as a script written against Odoo calls them: over
XML-RPC (Python's xmlrpc.client) and over JSON-RPC (/jsonrpc with urllib),
with `object.execute_kw`, positional and keyword arguments. Prints one JSON
line per step: {"transport", "step", "value", "ids"}, where a refused call's
value is {"fault": <XML-RPC faultCode or JSON-RPC data.name>, "message": ...}
and "ids" names the records the script made (so the test can compare).

Usage: orm_methods.py URL DB  (domain_lab installed; admin/admin)
"""
import json
import sys

import odoo_rpc
from odoo_rpc import Refused

url, db = sys.argv[1:3]


def over_xmlrpc(login, password):
    return odoo_rpc.over_xmlrpc(url, db, login, password)[0]


def over_jsonrpc(login, password):
    return odoo_rpc.over_jsonrpc(url, db, login, password)


def run(transport, connect):
    call = connect('admin', 'admin')
    ids = {}

    def step(name, thunk):
        try:
            value = thunk()
        except Refused as refused:
            value = {'fault': refused.fault, 'message': refused.message}
        except Exception as error:  # a client-side failure, reported as such
            value = {'client_error': repr(error)}
        print(json.dumps({'transport': transport, 'step': name, 'value': value, 'ids': ids}),
              flush=True)
        return value

    p = 'OM ' + transport + ' '
    mine = [['name', '=like', p + '%']]
    # Records: a country, two tags, a company and three people.
    ids['country'] = call('lab.country', 'create', [{'name': p + 'Land'}])
    ids['red'] = call('lab.tag', 'create', [{'name': p + 'red'}])
    ids['blue'] = call('lab.tag', 'create', [{'name': p + 'blue'}])
    ids['parent'] = call('lab.partner', 'create', [{
        'name': p + 'Parent', 'kind': 'company', 'country_id': ids['country']}])
    ids['a'] = call('lab.partner', 'create', [{
        'name': p + 'A', 'kind': 'person', 'parent_id': ids['parent'], 'age': 30, 'score': 1.5,
        'credit_limit': 100.0, 'birthday': '2024-01-15', 'country_id': ids['country'],
        'tag_ids': [[6, 0, [ids['red'], ids['blue']]]]}])
    ids['b'] = call('lab.partner', 'create', [{
        'name': p + 'B', 'kind': 'person', 'parent_id': ids['parent'], 'age': 40, 'score': 2.5,
        'credit_limit': 50.0, 'birthday': '2024-02-10', 'tag_ids': [[6, 0, [ids['red']]]]}])
    ids['d'] = call('lab.partner', 'create', [{
        'name': p + 'D', 'kind': 'person', 'age': 20, 'score': 4.0, 'credit_limit': 25.0,
        'birthday': '2024-04-03'}])
    born = mine + [['birthday', '!=', False]]

    # formatted_read_group
    step('frg many2one', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'groupby': ['parent_id'], 'aggregates': ['__count', 'score:sum', 'credit_limit:sum']}))
    step('frg month', lambda: call('lab.partner', 'formatted_read_group',
                                   [born, ['birthday:month'], ['__count']]))
    step('frg quarter', lambda: call('lab.partner', 'formatted_read_group',
                                     [born, ['birthday:quarter'], ['age:sum']]))
    step('frg two groupbys', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'groupby': ['parent_id', 'kind'], 'aggregates': ['__count']}))
    step('frg having order', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'groupby': ['kind'], 'aggregates': ['__count', 'age:max'],
        'having': [['__count', '>', 1]], 'order': 'age:max desc'}))
    step('frg order limit', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'groupby': ['age'], 'aggregates': ['__count'], 'order': 'age desc', 'limit': 2,
        'offset': 1}))
    step('frg no groupby', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'aggregates': ['__count', 'score:avg', 'age:min']}))
    step('frg many2many count', lambda: call('lab.partner', 'formatted_read_group', [mine], {
        'groupby': ['country_id'], 'aggregates': ['parent_id:count']}))
    # read_group, Odoo's older form
    step('read_group lazy', lambda: call('lab.partner', 'read_group',
                                         [mine, ['score'], ['parent_id', 'kind']]))
    step('read_group not lazy', lambda: call('lab.partner', 'read_group',
                                             [mine, ['score:sum'], ['parent_id', 'kind']],
                                             {'lazy': False}))
    step('read_group month', lambda: call('lab.partner', 'read_group',
                                          [born, ['age'], ['birthday:month']]))
    step('read_group orderby', lambda: call('lab.partner', 'read_group',
                                            [mine, ['age:sum'], ['kind']],
                                            {'orderby': 'kind desc'}))

    # web_search_read, web_read
    spec = {
        'name': {},
        'parent_id': {'fields': {'display_name': {}}},
        'country_id': {'fields': {'name': {}, 'display_name': {}}},
        'tag_ids': {'fields': {'name': {}}, 'order': 'name', 'limit': 1},
        'child_ids': {},
        'birthday': {},
    }
    step('web_search_read', lambda: call('lab.partner', 'web_search_read', [mine], {
        'specification': spec, 'order': 'name', 'limit': 2}))
    step('web_search_read count_limit', lambda: call('lab.partner', 'web_search_read', [mine], {
        'specification': {'name': {}}, 'order': 'name', 'limit': 1, 'count_limit': 3}))
    step('web_search_read nothing', lambda: call('lab.partner', 'web_search_read',
                                                 [[['id', '=', 0]], {'name': {}}]))
    step('web_read', lambda: call('lab.partner', 'web_read', [[ids['parent']]], {
        'specification': {'display_name': {},
                          'child_ids': {'fields': {'name': {}, 'parent_id': {}},
                                        'order': 'name desc'},
                          'country_id': {}}}))
    step('web_read ids only', lambda: call('lab.partner', 'web_read', [[ids['a']], {}]))
    # name_create, search_fetch
    step('name_create', lambda: call('lab.tag', 'name_create', [p + 'green']))
    step('search_fetch', lambda: call('lab.partner', 'search_fetch', [mine, ['name', 'age']], {
        'order': 'age desc', 'limit': 2}))
    # fields_get, get_views
    step('fields_get', lambda: call('lab.partner', 'fields_get', [], {
        'allfields': ['name', 'parent_id', 'child_ids', 'kind', 'birthday'],
        'attributes': ['string', 'type', 'relation', 'relation_field', 'selection', 'required',
                       'readonly', 'store', 'sortable', 'groupable', 'searchable', 'name',
                       'help']}))
    step('get_views default', lambda: call('lab.partner', 'get_views', [], {
        'views': [[False, 'list'], [False, 'form'], [False, 'search']], 'options': {}}))
    if transport == 'xmlrpc':
        ids['view'] = call('ir.ui.view', 'create', [{
            'name': 'lab.partner.list', 'model': 'lab.partner', 'type': 'list',
            'arch': '<list><field name="name"/><field name="age"/></list>', 'priority': 5}])
    else:
        ids['view'] = call('ir.ui.view', 'search', [[['model', '=', 'lab.partner'],
                                                      ['type', '=', 'list']]])[0]
    step('get_views stored', lambda: call('lab.partner', 'get_views',
                                          [[[False, 'list'], [False, 'kanban']]]))
    # export_data, load
    step('export_data', lambda: call('lab.partner', 'export_data', [[ids['a'], ids['b']], [
        'id', 'name', 'parent_id', 'parent_id/name', 'tag_ids/name', 'country_id/id', 'birthday',
        'kind', 'score', '.id']]))
    step('export_data ids again', lambda: call('lab.partner', 'export_data',
                                               [[ids['a']], ['id']]))
    columns = ['id', 'name', 'parent_id', 'tag_ids', 'kind', 'age', 'birthday']
    xmlid = 'om_' + transport + '_f'
    step('load', lambda: call('lab.partner', 'load', [columns, [
        [xmlid, p + 'F', p + 'Parent', p + 'red,' + p + 'blue', 'Person', '7', '2024-05-05'],
        ['', p + 'G', '', '', 'company', '8', ''],
    ]]))
    step('load update', lambda: call('lab.partner', 'load', [['id', 'age'], [[xmlid, '9']]]))
    step('read loaded', lambda: call('lab.partner', 'search_read', [[['name', 'in', [p + 'F', p + 'G']]]], {
        'fields': ['name', 'parent_id', 'tag_ids', 'kind', 'age', 'birthday'], 'order': 'name'}))
    step('load bad rows', lambda: call('lab.partner', 'load', [columns, [
        ['', p + 'H', 'No Such Parent', '', '', '1', ''],
        ['', p + 'I', '', '', '', 'abc', ''],
        ['short'],
        'not a row',
        ['', p + 'J', '', '', 'nobody', '1', '2024-13-45'],
    ]]))
    step('load failing create', lambda: call('lab.partner', 'load', [['name', 'age'], [
        [p + 'K', '1'],
        ['', '2'],
    ]]))
    step('load unknown column', lambda: call('lab.partner', 'load', [['nope', 'name'], [['1', p + 'L']]]))
    step('nothing loaded', lambda: call('lab.partner', 'search_count', [[['name', 'in', [
        p + 'H', p + 'I', p + 'J', p + 'K', p + 'L']]]]))
    # web_save
    saved = step('web_save create', lambda: call('lab.partner', 'web_save', [[], {
        'name': p + 'E', 'parent_id': ids['parent']}], {
        'specification': {'display_name': {}, 'parent_id': {'fields': {'display_name': {}}}}}))
    if isinstance(saved, list):
        ids['e'] = saved[0]['id']
        step('web_save write', lambda: call('lab.partner', 'web_save',
                                            [[ids['e']], {'score': 9}, {'score': {}}]))

    # Hostile
    deep = {}
    for _ in range(40):
        deep = {'parent_id': {'fields': deep}}
    step('spec 40 deep', lambda: call('lab.partner', 'web_search_read', [mine, deep]))
    deeper = {}
    for _ in range(1000):
        deeper = {'parent_id': {'fields': deeper}}
    step('spec 1000 deep', lambda: call('lab.partner', 'web_search_read', [mine, deeper]))
    huge = 2 ** 31 - 1 if transport == 'xmlrpc' else 10 ** 15
    step('huge limit', lambda: call('lab.partner', 'web_search_read', [mine, {'name': {}}], {
        'limit': huge}))
    step('unknown spec field', lambda: call('lab.partner', 'web_search_read',
                                            [mine, {'nope': {}}]))
    step('unknown nested spec field', lambda: call('lab.partner', 'web_read', [[ids['a']], {
        'parent_id': {'fields': {'nope': {}}}}]))
    step('spec not a dict', lambda: call('lab.partner', 'web_read', [[ids['a']], ['name']]))
    step('unknown groupby', lambda: call('lab.partner', 'formatted_read_group',
                                         [mine, ['nope'], ['__count']]))
    step('unknown aggregate', lambda: call('lab.partner', 'formatted_read_group',
                                           [mine, ['kind'], ['nope:sum']]))
    step('aggregate without function', lambda: call('lab.partner', 'formatted_read_group',
                                                    [mine, ['kind'], ['score']]))
    step('bad aggregate function', lambda: call('lab.partner', 'formatted_read_group',
                                                [mine, ['kind'], ['score:median']]))
    step('non-groupable groupby', lambda: call('lab.partner', 'formatted_read_group',
                                               [mine, ['child_ids'], ['__count']]))
    step('bad granularity', lambda: call('lab.partner', 'formatted_read_group',
                                         [mine, ['birthday:century'], ['__count']]))
    step('bad order', lambda: call('lab.partner', 'formatted_read_group', [mine, ['kind'], ['__count']], {
        'order': 'age; drop table lab_partner'}))
    step('unknown export path', lambda: call('lab.partner', 'export_data',
                                             [[ids['a']], ['parent_id/nope']]))
    step('load data not a list', lambda: call('lab.partner', 'load', [['name'], 'x']))
    step('unknown view type', lambda: call('lab.partner', 'get_views', [[[False, 'gantt']]]))
    step('count after', lambda: call('lab.partner', 'search_count', [mine]))

    # Another user, without rights on lab.partner.
    login = 'om_' + transport
    call('res.users', 'create', [{'login': login, 'name': 'OM ' + transport, 'password': 'pw-' + login}])
    other = connect(login, 'pw-' + login)
    step('stranger web_search_read', lambda: other('lab.partner', 'web_search_read', [mine, {'name': {}}]))
    step('stranger web_read', lambda: other('lab.partner', 'web_read', [[ids['a']], {'name': {}}]))
    step('stranger formatted_read_group', lambda: other('lab.partner', 'formatted_read_group',
                                                        [mine, ['kind'], ['__count']]))
    step('stranger export_data', lambda: other('lab.partner', 'export_data', [[ids['a']], ['name']]))
    step('stranger load', lambda: other('lab.partner', 'load', [['name'], [[p + 'M']]]))
    step('stranger name_create', lambda: other('lab.partner', 'name_create', [p + 'N']))
    step('stranger web_save', lambda: other('lab.partner', 'web_save', [[ids['a']], {'age': 1}, {}]))
    step('stranger get_views', lambda: other('lab.partner', 'get_views', [[[False, 'list']]]))
    step('count at the end', lambda: call('lab.partner', 'search_count', [mine]))


run('xmlrpc', over_xmlrpc)
run('jsonrpc', over_jsonrpc)
