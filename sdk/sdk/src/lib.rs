//! `pulse-sdk`: write Pulse addons in plain Rust.
//!
//! An addon is a `cdylib` crate compiled for `wasm32-wasip2`. It declares its
//! models as structs, its model methods as functions, and registers them
//! once with [`addon!`]. The generated WIT bindings stay inside this crate.
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! #[derive(Model)]
//! #[model(name = "todo.task", description = "To-do")]
//! pub struct Task {
//!     pub id: i64,
//!     #[field(required, string = "Title")]
//!     pub name: String,
//!     #[field(default = "false")]
//!     pub done: bool,
//!     /// A many2one reads as its id here.
//!     #[field(kind = "many2one", relation = "res.partner")]
//!     pub partner_id: Option<i64>,
//!     /// x2many fields are lists of ids.
//!     #[field(relation = "todo.tag")]
//!     pub tag_ids: Vec<i64>,
//! }
//!
//! /// Marks the tasks as done.
//! #[method(model = "todo.task")]
//! pub fn action_done(env: &Env, ids: &[i64]) -> Result<bool> {
//!     env.model::<Task>().write(ids, json!({"done": true}))?;
//!     Ok(true)
//! }
//!
//! /// Titles of the open tasks matching `text`: typed records, a safe domain.
//! #[method(model = "todo.task")]
//! pub fn open_titles(env: &Env, _ids: &[i64], text: String) -> Result<Vec<String>> {
//!     let tasks = env.model::<Task>();
//!     let ids = tasks.search(&domain![("done", "=", false), ("name", "ilike", text)])?;
//!     Ok(tasks.read(&ids)?.into_iter().map(|t| t.name).collect())
//! }
//!
//! pulse_sdk::addon! {
//!     models: [Task],
//!     methods: [action_done, open_titles],
//! }
//!
//! # fn main() {
//! // What the host learns when it asks the addon to describe itself:
//! let spec = <Task as Model>::spec();
//! assert_eq!(spec.name, "todo.task");
//! assert_eq!(spec.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["name", "done", "partner_id", "tag_ids"]);
//! assert_eq!(spec.fields[3].ttype, FieldType::Many2many);
//! # }
//! ```

//! Computed and related fields, constraints and validation methods:
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! #[derive(Model)]
//! #[model(name = "shop.line", description = "Order line")]
//! #[check(name = "qty_not_negative", domain = r#"[["qty", ">=", 0]]"#,
//!         message = "The quantity cannot be negative")]
//! pub struct Line {
//!     pub id: i64,
//!     #[field(kind = "many2one", relation = "res.partner", ondelete = "restrict")]
//!     pub partner_id: Option<i64>,
//!     /// Shown from the partner, searchable, never stored.
//!     #[field(related = "partner_id.name")]
//!     pub partner_name: Option<String>,
//!     #[field(digits = "16,2")]
//!     pub qty: f64,
//!     pub price: f64,
//!     /// Stored, and recomputed by the host whenever qty or price change.
//!     #[field(compute = "compute_subtotal", depends = "qty, price")]
//!     pub subtotal: f64,
//! }
//!
//! /// Answers one `(id, value)` pair per record.
//! #[method(model = "shop.line")]
//! pub fn compute_subtotal(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
//!     let lines = env.model::<Line>().read(ids)?;
//!     Ok(lines.iter().map(|l| (l.id, l.qty * l.price)).collect())
//! }
//!
//! /// Runs after every create, and every write of `price`.
//! #[method(model = "shop.line", constrains = "price")]
//! pub fn check_price(env: &Env, ids: &[i64]) -> Result<bool> {
//!     if env.model::<Line>().read(ids)?.iter().any(|l| l.price > 1e9) {
//!         return Err(Error::Validation("That price is not plausible".into()));
//!     }
//!     Ok(true)
//! }
//!
//! # fn main() {
//! let spec = <Line as Model>::spec();
//! assert_eq!(spec.checks[0].name, "qty_not_negative");
//! let subtotal = spec.fields.iter().find(|f| f.name == "subtotal").unwrap();
//! assert_eq!(subtotal.compute.as_deref(), Some("compute_subtotal"));
//! assert_eq!(subtotal.depends, ["qty", "price"]);
//! assert!(!subtotal.required, "computed fields are never required of callers");
//! assert_eq!(<check_price as pulse_sdk::Method>::CONSTRAINS, ["price"]);
//! // Computed and related fields are never sent on create or write.
//! let line = Line { id: 0, partner_id: None, partner_name: None, qty: 1.0, price: 2.0, subtotal: 9.0 };
//! let values = line.to_values();
//! assert!(values.contains_key("qty") && !values.contains_key("subtotal") && !values.contains_key("partner_name"));
//! # }
//! ```

#![deny(missing_docs)]

mod cron;
mod env;
mod error;
mod events;
mod field;
mod mail;
mod route;

#[doc(hidden)]
pub mod __rt;

pub use cron::Cron;
pub use env::{Domain, DynModel, Env, HttpRequest, HttpResponse, Records, User};
pub use error::{Error, Result};
pub use events::{AuthPolicy, EventHandler, EventKind, LoginAttempt, LoginDecision, RecordEvent};
pub use field::FieldValue;
pub use mail::MailBuilder;
pub use pulse_schema::{CheckSpec, Context, FieldSpec, FieldType, ModelSpec, OnDelete, RouteAuth};
pub use pulse_sdk_macros::{Model, auth_policy, cron, event, method, route};
pub use route::{Request, Response, Route};
pub use serde_json::{self, Map, Value, json};

/// Everything an addon usually needs, in one import.
pub mod prelude {
    pub use crate::{
        Context, Domain, Env, Error, FieldType, FieldValue, HttpRequest, HttpResponse, Map, Model,
        Records, Request, Response, Result, User, Value, cron, domain, json, method, route,
    };
    pub use crate::{EventKind, LoginAttempt, LoginDecision, RecordEvent, auth_policy, event};
}

/// A model: a struct whose fields are the model's stored fields.
///
/// Implemented by `#[derive(Model)]`; a field named `id` of type `i64`
/// receives the record's id and is not a column.
pub trait Model: Sized {
    /// The model's technical name, e.g. `todo.task`.
    const NAME: &'static str;

    /// The model as the host sees it: fields, types and attributes.
    fn spec() -> ModelSpec;

    /// The names of the stored fields this struct reads.
    fn field_names() -> Vec<&'static str>;

    /// Builds the struct from one record read from the host.
    fn from_record(record: &Map<String, Value>) -> Result<Self>;

    /// The struct's values, for create (without `id`).
    fn to_values(&self) -> Map<String, Value>;
}

/// A model method, implemented by `#[method(model = "…")]`.
pub trait Method {
    /// The model the method belongs to.
    const MODEL: &'static str;
    /// The method's name.
    const NAME: &'static str;
    /// Fields whose change runs the method as a validation (Odoo's
    /// `@api.constrains`); empty for ordinary methods.
    const CONSTRAINS: &'static [&'static str] = &[];
    /// Calls the method with Odoo's `call_kw` arguments (the ids are the
    /// first positional argument and are passed separately).
    fn call(env: &Env, ids: &[i64], args: &[Value], kwargs: &Map<String, Value>) -> Result<Value>;
}

/// A hook that runs with the environment only.
pub type HookFn = fn(&Env) -> Result<()>;

/// The migrate hook: environment, old version, new version.
pub type MigrateFn = fn(&Env, &str, &str) -> Result<()>;

/// The addon's hooks, each optional. Set through [`addon!`].
#[derive(Default, Clone, Copy)]
pub struct Hooks {
    /// Runs before the addon's tables are created (install only).
    pub pre_init: Option<HookFn>,
    /// Runs after the addon's tables are created (install only).
    pub post_init: Option<HookFn>,
    /// Runs on upgrade with the old and the new version.
    pub migrate: Option<MigrateFn>,
    /// Runs before the addon's tables are dropped.
    pub uninstall: Option<HookFn>,
}

/// Registers the addon's models, methods, routes, scheduled jobs and hooks
/// and exports it to the host. Use it once, at the crate root.
///
/// ```ignore
/// pulse_sdk::addon! {
///     models: [Task],
///     methods: [action_done],
///     routes: [tasks_summary],
///     crons: [nightly_close],
///     post_init: seed_tasks,
///     events: [task_changed],
///     auth_policy: login_policy,
/// }
/// ```
#[macro_export]
macro_rules! addon {
    (
        models: [$($model:ty),* $(,)?]
        $(, methods: [$($method:path),* $(,)?])?
        $(, routes: [$($route:path),* $(,)?])?
        $(, crons: [$($cron:path),* $(,)?])?
        $(, pre_init: $pre_init:path)?
        $(, post_init: $post_init:path)?
        $(, migrate: $migrate:path)?
        $(, uninstall: $uninstall:path)?
        $(, events: [$($event:path),* $(,)?])?
        $(, auth_policy: $auth_policy:path)?
        $(,)?
    ) => {
        #[doc(hidden)]
        #[allow(unsafe_code, unused_imports, unused_variables)]
        pub mod __pulse_addon {
            use super::*;

            /// What the addon registered (public so native builds of the
            /// crate, which export nothing, still use every hook).
            pub fn definition() -> &'static $crate::__rt::AddonDef {
                fn models() -> ::std::vec::Vec<$crate::ModelSpec> {
                    ::std::vec![$(<$model as $crate::Model>::spec()),*]
                }
                static DEF: $crate::__rt::AddonDef = $crate::__rt::AddonDef {
                    models,
                    methods: &[$($($crate::__rt::MethodEntry::of::<$method>()),*)?],
                    routes: &[$($($crate::__rt::RouteEntry::of::<$route>()),*)?],
                    crons: &[$($($crate::__rt::CronEntry::of::<$cron>()),*)?],
                    hooks: $crate::Hooks {
                        pre_init: { let hook: Option<fn(&$crate::Env) -> $crate::Result<()>> = None; $(let hook = Some($pre_init as fn(&$crate::Env) -> $crate::Result<()>);)? hook },
                        post_init: { let hook: Option<fn(&$crate::Env) -> $crate::Result<()>> = None; $(let hook = Some($post_init as fn(&$crate::Env) -> $crate::Result<()>);)? hook },
                        migrate: { let hook: Option<fn(&$crate::Env, &str, &str) -> $crate::Result<()>> = None; $(let hook = Some($migrate as fn(&$crate::Env, &str, &str) -> $crate::Result<()>);)? hook },
                        uninstall: { let hook: Option<fn(&$crate::Env) -> $crate::Result<()>> = None; $(let hook = Some($uninstall as fn(&$crate::Env) -> $crate::Result<()>);)? hook },
                    },
                    events: &[$($($crate::__rt::EventEntry::of::<$event>()),*)?],
                    auth_policy: { let policy: Option<$crate::__rt::AuthPolicyFn> = None; $(let policy = Some(<$auth_policy as $crate::AuthPolicy>::check as $crate::__rt::AuthPolicyFn);)? policy },
                };
                &DEF
            }

            pub struct PulseAddon;

            impl $crate::__rt::bindings::exports::pulse::addon::describe::Guest for PulseAddon {
                fn describe() -> ::std::string::String {
                    $crate::__rt::describe(definition())
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::lifecycle::Guest for PulseAddon {
                fn pre_init() -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::run_hook(definition().hooks.pre_init)
                }
                fn post_init() -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::run_hook(definition().hooks.post_init)
                }
                fn migrate(
                    from: ::std::string::String,
                    to: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::run_migrate(definition().hooks.migrate, &from, &to)
                }
                fn uninstall() -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::run_hook(definition().hooks.uninstall)
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::methods::Guest for PulseAddon {
                fn call(
                    context: $crate::__rt::WitContext,
                    model: ::std::string::String,
                    method: ::std::string::String,
                    ids: ::std::vec::Vec<i64>,
                    args: ::std::string::String,
                    kwargs: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::__rt::WitError> {
                    $crate::__rt::call_method(definition(), context, &model, &method, &ids, &args, &kwargs)
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::routes::Guest for PulseAddon {
                fn handle(
                    route: ::std::string::String,
                    request: $crate::__rt::bindings::exports::pulse::addon::routes::Request,
                ) -> ::std::result::Result<
                    $crate::__rt::bindings::exports::pulse::addon::routes::Response,
                    $crate::__rt::WitError,
                > {
                    $crate::__rt::handle_route(definition(), &route, request)
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::events::Guest for PulseAddon {
                fn on_event(
                    context: $crate::__rt::WitContext,
                    event: $crate::__rt::bindings::exports::pulse::addon::events::RecordEvent,
                ) -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::on_event(definition(), context, event)
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::auth_policy::Guest for PulseAddon {
                fn check(
                    attempt: $crate::__rt::bindings::exports::pulse::addon::auth_policy::LoginAttempt,
                ) -> ::std::result::Result<
                    $crate::__rt::bindings::exports::pulse::addon::auth_policy::Decision,
                    $crate::__rt::WitError,
                > {
                    $crate::__rt::check_login(definition(), attempt)
                }
            }

            impl $crate::__rt::bindings::exports::pulse::addon::cron::Guest for PulseAddon {
                fn run(
                    context: $crate::__rt::WitContext,
                    job: ::std::string::String,
                    scheduled: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::__rt::WitError> {
                    $crate::__rt::run_cron(definition(), context, &job, scheduled)
                }
            }

            // Exported only in the wasm build: the canonical-ABI symbol names
            // are not valid native linker symbols, and a native build of an
            // addon crate (for its unit tests) has no host to export to.
            #[cfg(target_arch = "wasm32")]
            $crate::__rt::bindings::__export_pulse_addon!(PulseAddon with_types_in $crate::__rt::bindings);
        }
    };
}

/// Builds a [`Domain`] from `(field, operator, value)` leaves, AND-ed.
///
/// ```
/// use pulse_sdk::domain;
/// let d = domain![("done", "=", false), ("name", "ilike", "milk")];
/// assert_eq!(d.to_json(), r#"[["done","=",false],["name","ilike","milk"]]"#);
/// ```
#[macro_export]
macro_rules! domain {
    () => { $crate::Domain::all() };
    ($(($field:expr, $op:expr, $value:expr)),+ $(,)?) => {
        $crate::Domain::all()$(.and($field, $op, $crate::json!($value)))+
    };
}
