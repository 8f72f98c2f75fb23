"""An accounting script written against Odoo 19, unchanged: a chart of
accounts with Odoo's account types, a bank journal, a customer invoice with
two lines, posted, paid through the register-payment wizard, read back as
paid. Python's standard xmlrpc.client, execute_kw, as Odoo's external API
documentation shows.

Usage: odoo_invoice_payment.py URL DB LOGIN PASSWORD  (prints what it read
as JSON)
"""
import json
import sys
import xmlrpc.client

url, db, username, password = sys.argv[1:5]
common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
uid = common.authenticate(db, username, password, {})
if not uid:
    sys.exit("authentication failed")
models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")


def call(model, method, *args, **kwargs):
    return models.execute_kw(db, uid, password, model, method, list(args), kwargs)


bank_account = call("account.account", "create", {
    "code": "101401", "name": "Bank", "account_type": "asset_cash",
})
receivable = call("account.account", "create", {
    "code": "121000", "name": "Account Receivable", "account_type": "asset_receivable",
    "reconcile": True,
})
income = call("account.account", "create", {
    "code": "400000", "name": "Product Sales", "account_type": "income",
})
sales = call("account.journal", "create", {
    "name": "Customer Invoices", "code": "INV", "type": "sale",
    "default_account_id": income,
})
bank = call("account.journal", "create", {
    "name": "Bank", "code": "BNK1", "type": "bank", "default_account_id": bank_account,
})
partner = call("res.partner", "create", {"name": "Azure Interior", "is_company": True})

invoice = call("account.move", "create", {
    "move_type": "out_invoice",
    "partner_id": partner,
    "invoice_date": "2026-03-02",
    "invoice_date_due": "2026-04-01",
    "ref": "PO 4711",
    "invoice_line_ids": [
        (0, 0, {"name": "Office chair", "quantity": 2, "price_unit": 150.0}),
        (0, 0, {"name": "Desk", "quantity": 1, "price_unit": 700.0, "account_id": income}),
    ],
})
draft = call("account.move", "read", [invoice], ["state", "name", "amount_untaxed", "amount_total",
                                                 "payment_state", "journal_id", "date"])[0]
call("account.move", "action_post", [invoice])
posted = call("account.move", "read", [invoice], ["state", "name", "amount_total",
                                                  "amount_residual", "payment_state"])[0]
items = call("account.move.line", "search_read", [["move_id", "=", invoice]],
             fields=["account_id", "display_type", "debit", "credit", "balance",
                     "amount_residual", "price_subtotal"], order="id")

context = {"active_model": "account.move", "active_ids": [invoice]}
wizard = call("account.payment.register", "create", {"journal_id": bank}, context=context)
wizard_values = call("account.payment.register", "read", [wizard],
                     ["amount", "payment_type", "partner_type", "partner_id", "communication"],
                     context=context)[0]
action = call("account.payment.register", "action_create_payments", [wizard], context=context)
paid = call("account.move", "read", [invoice], ["payment_state", "amount_residual", "state"])[0]
payment = call("account.payment", "read", [action["res_id"]],
               ["state", "amount", "payment_type", "partner_type", "journal_id", "move_id",
                "name"])[0]
bank_items = call("account.move.line", "search_read", [["account_id", "=", bank_account]],
                  fields=["debit", "credit"])
print(json.dumps({
    "draft": draft, "posted": posted, "items": items, "wizard": wizard_values,
    "action": action, "paid": paid, "payment": payment, "bank_items": bank_items,
}))
