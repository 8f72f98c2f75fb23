//! `pulse-sdk`: write Pulse addons in plain Rust.
//!
//! An addon is a `cdylib` crate compiled for `wasm32-wasip2`. It declares its
//! models as structs, its model methods as functions, and registers them
//! once with [`addon!`]. The generated WIT bindings stay inside this crate.
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! /// How urgent a task is: an Odoo selection field.
//! #[derive(Selection, Debug, Clone, Copy, PartialEq)]
//! pub enum Priority {
//!     /// Low
//!     Low,
//!     /// Normal
//!     Normal,
//!     /// Urgent
//!     Urgent,
//! }
//!
//! #[derive(Model)]
//! #[model(name = "todo.project", description = "Project")]
//! pub struct Project {
//!     pub id: i64,
//!     #[field(required)]
//!     pub name: String,
//! }
//!
//! #[derive(Model)]
//! #[model(name = "todo.task", description = "To-do")]
//! pub struct Task {
//!     pub id: i64,
//!     #[field(required, string = "Title")]
//!     pub name: String,
//!     #[field(default = false)]
//!     pub done: bool,
//!     #[field(default = Priority::Normal)]
//!     pub priority: Priority,
//!     /// A many2one: its kind and relation come from the type.
//!     pub project_id: Option<Many2one<Project>>,
//!     /// Another addon's model, whose type this crate does not have.
//!     #[field(kind = "many2one", relation = "res.partner")]
//!     pub partner_id: Option<i64>,
//! }
//!
//! /// Marks the tasks as done.
//! #[method(model = "todo.task")]
//! pub fn action_done(env: &Env, ids: &[i64]) -> Result<bool> {
//!     env.model::<Task>().write(ids, Task::write().done(true))?;
//!     Ok(true)
//! }
//!
//! /// Titles of the open tasks that are urgent or belong to a project
//! /// named like `text`: typed records, a typed domain.
//! #[method(model = "todo.task")]
//! pub fn open_titles(env: &Env, _ids: &[i64], text: String) -> Result<Vec<String>> {
//!     let f = Task::fields();
//!     let domain = !f.done().eq(true) & (f.priority().eq(Priority::Urgent) | f.project_id().name().ilike(&text));
//!     Ok(env.model::<Task>().search_read(&domain)?.into_iter().map(|t| t.name).collect())
//! }
//!
//! /// A first task, from a typed builder: no `id`, defaults left to the host.
//! fn welcome(env: &Env) -> Result<()> {
//!     env.model::<Task>().create_one(Task::create().name("Try Pulse"))?;
//!     Ok(())
//! }
//!
//! pulse_sdk::addon! {
//!     models: [Project, Task],
//!     methods: [action_done, open_titles],
//!     post_init: welcome,
//! }
//!
//! # fn main() {
//! // What the host learns when it asks the addon to describe itself:
//! let spec = <Task as Model>::spec();
//! assert_eq!(spec.name, "todo.task");
//! let names: Vec<_> = spec.fields.iter().map(|f| f.name.as_str()).collect();
//! assert_eq!(names, ["name", "done", "priority", "project_id", "partner_id"]);
//! assert_eq!(spec.fields[2].ttype, FieldType::Selection);
//! assert_eq!(spec.fields[2].default, Some(json!("normal")));
//! assert_eq!(spec.fields[2].selection[2], ("urgent".to_string(), "Urgent".to_string()));
//! assert_eq!(spec.fields[3].ttype, FieldType::Many2one);
//! assert_eq!(spec.fields[3].relation.as_deref(), Some("todo.project"));
//! // The domain in Odoo's prefix notation, through the many2one:
//! let f = Task::fields();
//! let domain = !f.done().eq(true) & (f.priority().eq(Priority::Urgent) | f.project_id().name().ilike("x"));
//! assert_eq!(domain.to_json(), r#"["&","!",["done","=",true],"|",["priority","=","urgent"],["project_id.name","ilike","x"]]"#);
//! // A create builder without a required field is refused before the host sees it.
//! use pulse_sdk::CreateValues;
//! let refused = Task::create().done(true).into_values().unwrap_err();
//! assert!(refused.to_string().contains("'name'"), "{refused}");
//! assert_eq!(Task::create().name("x").into_values().unwrap(), json!({"name": "x"}).as_object().unwrap().clone());
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
//! pulse_sdk::addon! {
//!     models: [Line],
//!     methods: [compute_subtotal, check_price],
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
//! // Computed and related fields have no setter: the host sets them.
//! let values = pulse_sdk::WriteValues::into_values(Line::write().qty(2.0).price(3.0));
//! assert_eq!(values.len(), 2);
//! # }
//! ```

#![deny(missing_docs)]

mod cron;
mod domain;
mod env;
mod error;
mod events;
mod field;
mod mail;
mod relational;
mod route;
pub mod tools;

#[doc(hidden)]
pub mod __rt;

pub use cron::Cron;
pub use domain::{Domain, Field};
pub use env::{DynModel, Env, HttpRequest, HttpResponse, Records, User};
pub use error::{Error, Result};
pub use events::{AuthPolicy, EventHandler, EventKind, LoginAttempt, LoginDecision, RecordEvent};
pub use field::{FieldValue, IntoField};
pub use mail::MailBuilder;
pub use pulse_schema::{CheckSpec, Context, FieldSpec, FieldType, ModelSpec, OnDelete, RouteAuth};
pub use pulse_sdk_macros::{Model, Selection, auth_policy, cron, event, method, route};
pub use relational::{Many2many, Many2one, One2many, Related};
pub use route::{Request, Response, Route};
pub use serde_json::{self, Map, Value, json};
pub use tools::Date;

/// Everything an addon usually needs, in one import.
pub mod prelude {
    pub use crate::{
        Context, Domain, Env, Error, FieldType, FieldValue, HttpRequest, HttpResponse, Many2many,
        Many2one, Map, Model, One2many, Records, Request, Response, Result, Selection, User, Value,
        cron, domain, json, method, route,
    };
    pub use crate::{EventKind, LoginAttempt, LoginDecision, RecordEvent, auth_policy, event};
}

/// A model: a struct whose fields are the model's stored fields.
///
/// Implemented by `#[derive(Model)]`; a field named `id` of type `i64`
/// receives the record's id and is not a column. The derive also gives the
/// struct `create()`, `write()` and `fields()`: typed builders of a new
/// record's values and of the values a write changes, and typed paths for
/// domains.
pub trait Model: Sized {
    /// The model's technical name, e.g. `todo.task`.
    const NAME: &'static str;

    /// The values of a new record (`Task::create()`, a generated `TaskCreate`).
    type Create: CreateValues;

    /// The values a write changes (`Task::write()`, a generated `TaskWrite`).
    type Write: WriteValues;

    /// The model's typed field paths (`Task::fields()`, a generated `TaskFields`).
    type Fields: ModelFields;

    /// The model as the host sees it: fields, types and attributes.
    fn spec() -> ModelSpec;

    /// The names of the stored fields this struct reads.
    fn field_names() -> Vec<&'static str>;

    /// Builds the struct from one record read from the host.
    fn from_record(record: &Map<String, Value>) -> Result<Self>;
}

/// The values of a new record, from a generated create builder.
pub trait CreateValues {
    /// The field values as Odoo JSON; an [`Error::Validation`] naming the
    /// first required field (with no default) the builder does not set.
    fn into_values(self) -> Result<Map<String, Value>>;
}

/// The values a write changes, from a generated write builder.
pub trait WriteValues {
    /// The field values as Odoo JSON.
    fn into_values(self) -> Map<String, Value>;
}

/// Field values as Odoo JSON: the `Create` and `Write` of a [`Model`]
/// implemented by hand (the derive generates typed builders instead).
/// Create does not check required fields; the host does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawValues(pub Map<String, Value>);

impl CreateValues for RawValues {
    fn into_values(self) -> Result<Map<String, Value>> {
        Ok(self.0)
    }
}

impl WriteValues for RawValues {
    fn into_values(self) -> Map<String, Value> {
        self.0
    }
}

/// No typed paths: the `Fields` of a [`Model`] implemented by hand.
impl ModelFields for () {
    fn with_prefix(_prefix: String) -> Self {}
}

/// A model's typed field paths, generated by `#[derive(Model)]`.
pub trait ModelFields {
    /// The paths under `prefix` (`"move_id."` when reached through a
    /// many2one, empty from the model itself).
    fn with_prefix(prefix: String) -> Self;
}

/// An Odoo selection as a Rust enum, implemented by `#[derive(Selection)]`:
/// each unit variant is one `(value, label)` option; the value is the
/// variant's name in snake case unless `#[selection(value = "…")]` says
/// otherwise, the label the variant's doc comment or `#[selection(label =
/// "…")]`.
pub trait Selection: Sized + Copy + 'static {
    /// The `(value, label)` options, in declaration order.
    const OPTIONS: &'static [(&'static str, &'static str)];
    /// The value stored for this variant.
    fn value(&self) -> &'static str;
    /// The variant stored as `value`, if any.
    fn from_value(value: &str) -> Option<Self>;
    /// The label shown for this variant (Odoo's selection label).
    fn label(&self) -> &'static str {
        let value = self.value();
        Self::OPTIONS
            .iter()
            .find(|(v, _)| *v == value)
            .map_or(value, |(_, label)| label)
    }
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

/// Registers the addon's models, methods, routes, scheduled jobs, event
/// handlers, authentication policy and hooks, and exports it to the host.
/// Use it once, at the crate root.
///
/// Every `#[derive(Model)]`, `#[method]`, `#[route]`, `#[cron]`, `#[event]`
/// and `#[auth_policy]` item of the crate must be listed: one that is not
/// fails to compile with "the method `name` is not registered in
/// `addon!`", so nothing is silently left out. Listing an item twice fails
/// too.
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
///
/// An addon whose crate other addons depend on for its model types and its
/// typed client (`features = ["client"]`) exports itself only when built as
/// the addon: `pulse_sdk::addon! { exports_if: feature = "addon", models:
/// [..], .. }` with `default = ["addon"]` in its `[features]`, so a
/// dependent's component does not export this addon's models and methods
/// as its own. The items are registered (and checked) either way.
#[macro_export]
macro_rules! addon {
    (
        $(exports_if: $cfg:meta,)?
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
        // What the items' own macros check: each one listed here, so an
        // item left out of `addon!` fails to compile, named.
        $(impl $crate::__rt::RegisteredModel for $model {})*
        $($(impl $crate::__rt::RegisteredMethod for $method {})*)?
        $($(impl $crate::__rt::RegisteredRoute for $route {})*)?
        $($(impl $crate::__rt::RegisteredCron for $cron {})*)?
        $($(impl $crate::__rt::RegisteredEvent for $event {})*)?
        $(impl $crate::__rt::RegisteredAuthPolicy for $auth_policy {})?

        #[doc(hidden)]
        #[allow(unsafe_code, unused_imports, unused_variables)]
        #[cfg(all($($cfg)?))]
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
/// Typed paths (`Task::fields().done().eq(false)`) check the field names
/// and value types at compile time; this macro is for the rest.
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
