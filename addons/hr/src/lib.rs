//! `hr`: the employee directory other addons (expenses, approvals) point at.
//! They depend on this crate with `default-features = false, features =
//! ["client"]` for [`Employee`], without exporting this addon again.

use pulse_sdk::prelude::*;

/// An employee.
#[derive(Model)]
#[model(name = "hr.employee", description = "Employee")]
pub struct Employee {
    /// The record id.
    pub id: i64,
    /// Full name.
    #[field(required, index)]
    pub name: String,
    /// Job title.
    pub job_title: Option<String>,
    /// Work email.
    pub work_email: Option<String>,
    /// The user account of the employee, if any.
    #[field(kind = "many2one", relation = "res.users")]
    pub user_id: Option<i64>,
    /// The employee's manager.
    pub parent_id: Option<Many2one<Employee>>,
    /// Archived employees are hidden.
    #[field(default = true)]
    pub active: bool,
}

pulse_sdk::addon! {
    exports_if: feature = "addon",
    models: [Employee],
}
