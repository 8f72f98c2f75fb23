//! Procedural macros behind `pulse-sdk`. Use them through `pulse_sdk`; the
//! code they generate names only `::pulse_sdk` paths.

#![deny(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::{
    Data, DeriveInput, Expr, ExprLit, Fields, FnArg, ItemFn, Lit, LitStr, Meta, Pat, Token,
    parse::Parser, parse_macro_input, punctuated::Punctuated, spanned::Spanned,
};

/// Derives `pulse_sdk::Model` for a struct with named fields.
///
/// `#[model(name = "todo.task", description = "To-do")]` on the struct;
/// `#[field(required, index, string = "Label", help = "…", kind = "text",
/// relation = "res.partner")]` on fields. A field `id: i64` receives the
/// record id.
#[proc_macro_derive(Model, attributes(model, field, check))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_model(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `pulse_sdk::Selection` (and `FieldValue`) for an enum of unit
/// variants: an Odoo selection field's options.
///
/// Each variant is the option whose value is its name in snake case
/// (`InProgress` is `in_progress`) and whose label is its doc comment's
/// first line (else its name in words); `#[selection(value = "…", label =
/// "…")]` on a variant overrides either.
#[proc_macro_derive(Selection, attributes(selection))]
pub fn derive_selection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_selection(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_selection(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let ident = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "Selection can only be derived for enums of unit variants",
        ));
    };
    if data.variants.is_empty() {
        return Err(syn::Error::new(
            input.span(),
            "a selection needs at least one variant",
        ));
    }
    let mut options = Vec::new();
    let mut to_value = Vec::new();
    let mut from_value = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new(
                variant.span(),
                "a selection's variants carry no data",
            ));
        }
        let attrs = Options::parse(&variant.attrs, "selection")?;
        attrs.check(&[], &["value", "label"], variant.span())?;
        let name = variant.ident.to_string();
        let value = attrs
            .value("value")
            .map(|v| v.value())
            .unwrap_or_else(|| snake_case(&name));
        if value.is_empty() {
            return Err(syn::Error::new(
                variant.span(),
                "a selection value may not be empty",
            ));
        }
        if seen.contains(&value) {
            return Err(syn::Error::new(
                variant.span(),
                format!("two variants have the value `{value}`"),
            ));
        }
        seen.push(value.clone());
        let label = attrs
            .value("label")
            .map(|v| v.value())
            .or_else(|| doc_line(&variant.attrs))
            .unwrap_or_else(|| default_label(&snake_case(&name)));
        let variant_ident = &variant.ident;
        options.push(quote!((#value, #label)));
        to_value.push(quote!(#ident::#variant_ident => #value));
        from_value.push(quote!(#value => ::std::option::Option::Some(#ident::#variant_ident)));
    }
    Ok(quote! {
        impl ::pulse_sdk::Selection for #ident {
            const OPTIONS: &'static [(&'static str, &'static str)] = &[#(#options),*];

            fn value(&self) -> &'static str {
                match self {
                    #(#to_value),*
                }
            }

            fn from_value(value: &str) -> ::std::option::Option<Self> {
                match value {
                    #(#from_value,)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl ::pulse_sdk::FieldValue for #ident {
            type Path = ::pulse_sdk::Field<#ident>;
            fn path(path: ::std::string::String) -> ::pulse_sdk::Field<#ident> {
                ::pulse_sdk::Field::new(path)
            }
            const TYPE: ::pulse_sdk::FieldType = ::pulse_sdk::FieldType::Selection;
            const NON_EMPTY: bool = true;
            const SELECTION: &'static [(&'static str, &'static str)] =
                <#ident as ::pulse_sdk::Selection>::OPTIONS;
            fn from_json(value: &::pulse_sdk::Value) -> ::std::result::Result<Self, ::std::string::String> {
                ::pulse_sdk::__rt::selection_from_json(value)
            }
            fn to_json(&self) -> ::pulse_sdk::Value {
                ::pulse_sdk::Value::from(::pulse_sdk::Selection::value(self))
            }
        }
    })
}

/// `InProgress` -> `in_progress`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first line of a doc comment, trimmed, if there is one.
fn doc_line(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.value().trim().trim_end_matches('.').to_string())
                .filter(|line| !line.is_empty()),
            _ => None,
        },
        _ => None,
    })
}

/// Key-value and flag options of one attribute such as `#[field(required, string = "X")]`.
/// Options that take `true` or `false`, of `#[field(...)]`.
const BOOLEAN_OPTIONS: [&str; 1] = ["copy"];

#[derive(Default)]
struct Options {
    flags: Vec<String>,
    values: Vec<(String, LitStr)>,
    /// `name = true|false` options, e.g. Odoo's `copy = false`.
    bools: Vec<(String, syn::LitBool)>,
    /// Options whose value is any Rust expression: `default = State::Draft`.
    exprs: Vec<(String, Expr)>,
}

/// Options whose value is a Rust expression rather than a string.
const EXPRESSION_OPTIONS: [&str; 1] = ["default"];

impl Options {
    fn parse(attrs: &[syn::Attribute], name: &str) -> syn::Result<Options> {
        let mut options = Options::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
            let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
            for meta in metas {
                match meta {
                    Meta::Path(p) => options.flags.push(ident_of(&p)?),
                    Meta::NameValue(nv)
                        if EXPRESSION_OPTIONS.iter().any(|o| nv.path.is_ident(o)) =>
                    {
                        options.exprs.push((ident_of(&nv.path)?, nv.value));
                    }
                    Meta::NameValue(nv) => match nv.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => options.values.push((ident_of(&nv.path)?, s)),
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(b), ..
                        }) => options.bools.push((ident_of(&nv.path)?, b)),
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "expected a string literal, e.g. name = \"todo.task\"",
                            ));
                        }
                    },
                    Meta::List(l) => {
                        return Err(syn::Error::new(l.span(), "unexpected nested list"));
                    }
                }
            }
        }
        Ok(options)
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        self.bools
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.value)
    }

    fn value(&self, name: &str) -> Option<&LitStr> {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn expr(&self, name: &str) -> Option<&Expr> {
        self.exprs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn check(
        &self,
        allowed_flags: &[&str],
        allowed_values: &[&str],
        span: proc_macro2::Span,
    ) -> syn::Result<()> {
        // The true/false options belong to `#[field]`, the one attribute
        // that takes a default.
        let booleans: &[&str] = if allowed_values.contains(&"default") {
            &BOOLEAN_OPTIONS
        } else {
            &[]
        };
        let known: Vec<&str> = allowed_flags
            .iter()
            .chain(allowed_values)
            .chain(booleans)
            .copied()
            .collect();
        let unknown = |name: &str, span: proc_macro2::Span| {
            syn::Error::new(
                span,
                format!(
                    "unknown option `{name}`{}; expected one of {}",
                    did_you_mean(name, &known),
                    known.join(", ")
                ),
            )
        };
        if let Some(f) = self
            .flags
            .iter()
            .find(|f| !allowed_flags.contains(&f.as_str()))
        {
            return Err(unknown(f, span));
        }
        if let Some((k, v)) = self
            .exprs
            .iter()
            .find(|(k, _)| !allowed_values.contains(&k.as_str()))
        {
            return Err(unknown(k, v.span()));
        }
        if let Some((k, v)) = self
            .values
            .iter()
            .find(|(k, _)| !allowed_values.contains(&k.as_str()))
        {
            return Err(unknown(k, v.span()));
        }
        for (k, v) in &self.bools {
            if !BOOLEAN_OPTIONS.contains(&k.as_str()) {
                return Err(syn::Error::new(
                    v.span(),
                    format!("unknown option `{k}`; true/false options are {BOOLEAN_OPTIONS:?}"),
                ));
            }
        }
        Ok(())
    }
}

/// `" (did you mean `name`?)"` when `word` is a likely typo of a known option.
fn did_you_mean(word: &str, known: &[&str]) -> String {
    pulse_schema::did_you_mean(word, known)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn ident_of(path: &syn::Path) -> syn::Result<String> {
    path.get_ident()
        .map(|i| i.to_string())
        .ok_or_else(|| syn::Error::new(path.span(), "expected a plain name"))
}

fn expand_model(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let ident = &input.ident;
    let options = Options::parse(&input.attrs, "model")?;
    options.check(&[], &["name", "description", "extends"], input.span())?;
    // `extends = "todo.task"` adds this struct's fields to a model a dependency defines.
    let extends = options.value("extends").is_some();
    let model_name = options.value("name").or(options.value("extends")).ok_or_else(|| {
        syn::Error::new(
            input.span(),
            "missing #[model(name = \"…\")] (or #[model(extends = \"…\")]), e.g. #[model(name = \"todo.task\")]",
        )
    })?;
    if extends && options.value("name").is_some() {
        return Err(syn::Error::new(
            input.span(),
            "use either name = \"…\" (a new model) or extends = \"…\" (fields added to another addon's model)",
        ));
    }
    let description = options
        .value("description")
        .map(|d| d.value())
        .unwrap_or_else(|| model_name.value());

    let checks = check_attributes(&input.attrs)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "Model can only be derived for structs",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            input.span(),
            "Model needs a struct with named fields",
        ));
    };

    let mut specs = Vec::new();
    let mut names = Vec::new();
    let mut readers = Vec::new();
    let mut paths = Vec::new();
    let mut setters = Vec::new();
    let mut required_checks = Vec::new();
    let create_call = format!("{ident}::create()");
    for field in &named.named {
        let fident = field.ident.as_ref().expect("named fields have names");
        // `r#type` is the field `type` (Odoo's `account.journal.type`).
        let fname = syn::ext::IdentExt::unraw(fident).to_string();
        let ty = &field.ty;
        // `id` is read like any field but is never a column.
        if fname == "id" {
            readers.push(quote! {
                id: ::pulse_sdk::__rt::field::<#ty>(record, #model_name, "id")?
            });
            continue;
        }
        let fopts = Options::parse(&field.attrs, "field")?;
        fopts.check(
            &["required", "index", "unique", "readonly"],
            &[
                "string",
                "help",
                "kind",
                "relation",
                "inverse",
                "currency_field",
                "selection",
                "default",
                "related",
                "compute",
                "depends",
                "ondelete",
                "digits",
            ],
            field.span(),
        )?;
        let optional = |key: &str| match fopts.value(key) {
            Some(v) => quote!(Some(#v.to_string())),
            None => quote!(None),
        };
        let related = optional("related");
        let compute = optional("compute");
        // Computed and related fields are set by the host, never by create/write.
        let derived = fopts.value("related").is_some() || fopts.value("compute").is_some();
        let depends: Vec<String> = fopts
            .value("depends")
            .map(|d| comma_list(&d.value()))
            .unwrap_or_default();
        if !depends.is_empty() && fopts.value("compute").is_none() {
            return Err(syn::Error::new(
                field.span(),
                "depends = \"…\" only makes sense with compute = \"method\"",
            ));
        }
        let ondelete = match fopts.value("ondelete") {
            Some(v) => {
                if !["set null", "restrict", "cascade"].contains(&v.value().as_str()) {
                    return Err(syn::Error::new(
                        v.span(),
                        "ondelete must be \"set null\", \"restrict\" or \"cascade\"",
                    ));
                }
                quote!(::pulse_sdk::OnDelete::parse(#v))
            }
            None => quote!(None),
        };
        // `digits = "16,2"`: precision and scale.
        let digits = match fopts.value("digits") {
            Some(v) => {
                let parsed: Option<(u32, u32)> = v
                    .value()
                    .split_once(',')
                    .and_then(|(p, s)| Some((p.trim().parse().ok()?, s.trim().parse().ok()?)));
                let Some((precision, scale)) = parsed else {
                    return Err(syn::Error::new(
                        v.span(),
                        "digits must be \"precision,scale\", e.g. \"16,2\"",
                    ));
                };
                quote!(Some((#precision, #scale)))
            }
            None => quote!(None),
        };
        let readonly = fopts.flag("readonly");
        // Odoo's `copy`: whether `copy()` takes the value along (unset:
        // every field but one2many, computed and related ones).
        let copy = match fopts.boolean("copy") {
            Some(c) => quote!(Some(#c)),
            None => quote!(None),
        };
        let label = fopts
            .value("string")
            .map(|s| s.value())
            .unwrap_or_else(|| default_label(&fname));
        let help = match fopts.value("help") {
            Some(h) => quote!(Some(#h.to_string())),
            None => quote!(None),
        };
        let ttype = match fopts.value("kind") {
            Some(kind) => quote! {
                ::pulse_sdk::FieldType::parse(#kind).expect(concat!("unknown field kind ", #kind))
            },
            None => quote!(<#ty as ::pulse_sdk::FieldValue>::TYPE),
        };
        // A relational type names its model; `relation = "…"` is for
        // another addon's model, whose type this crate does not have.
        let relation = match fopts.value("relation") {
            Some(r) => quote!(Some(#r.to_string())),
            None => quote!(<#ty as ::pulse_sdk::FieldValue>::RELATION.map(str::to_string)),
        };
        let inverse = match fopts.value("inverse") {
            Some(r) => quote!(Some(#r.to_string())),
            None => quote!(None),
        };
        let currency_field = match fopts.value("currency_field") {
            Some(r) => quote!(Some(#r.to_string())),
            None => quote!(None),
        };
        // `selection = "draft:Draft,done:Done"`: value:label pairs, for a
        // `String` field; a `#[derive(Selection)]` type brings its own.
        let selection = match fopts.value("selection") {
            Some(list) => {
                let text = list.value();
                let pairs: Vec<TokenStream2> = text
                    .split(',')
                    .map(|pair| {
                        let (key, label) = pair.split_once(':').unwrap_or((pair, pair));
                        let (key, label) = (key.trim(), label.trim());
                        quote!((#key.to_string(), #label.to_string()))
                    })
                    .collect();
                quote!(::std::vec![#(#pairs),*])
            }
            None => quote! {
                <#ty as ::pulse_sdk::FieldValue>::SELECTION
                    .iter()
                    .map(|(value, label)| (value.to_string(), label.to_string()))
                    .collect()
            },
        };
        // `default = <a Rust value of the field's type>`, checked by the
        // compiler against the field's type.
        let has_default = fopts.expr("default").is_some();
        let default = match fopts.expr("default") {
            Some(value) => {
                if let Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) = value
                {
                    let inner = text.value();
                    if inner.len() >= 2 && inner.starts_with('"') && inner.ends_with('"') {
                        return Err(syn::Error::new(
                            text.span(),
                            format!(
                                "a default is a Rust value now, not JSON in a string: write default = {inner}"
                            ),
                        ));
                    }
                }
                quote_spanned!(value.span()=> Some(::pulse_sdk::__rt::value_of::<#ty>(#value)))
            }
            None => quote!(None),
        };
        let unique = fopts.flag("unique");
        let required = fopts.flag("required");
        let index = fopts.flag("index");
        specs.push(quote! {
            ::pulse_sdk::FieldSpec {
                name: #fname.to_string(),
                ttype: #ttype,
                string: #label.to_string(),
                help: #help,
                required: #required || (!#derived && <#ty as ::pulse_sdk::FieldValue>::NON_EMPTY),
                index: #index,
                unique: #unique,
                relation: #relation,
                inverse: #inverse,
                currency_field: #currency_field,
                selection: #selection,
                default: #default,
                readonly: #readonly,
                copy: #copy,
                ondelete: #ondelete,
                digits: #digits,
                related: #related,
                compute: #compute,
                depends: ::std::vec![#(#depends.to_string()),*],
            }
        });
        names.push(fname.clone());
        readers.push(quote! {
            #fident: ::pulse_sdk::__rt::field::<#ty>(record, #model_name, #fname)?
        });
        paths.push(quote! {
            #[doc = concat!("The path of `", #fname, "`, for domains.")]
            pub fn #fident(&self) -> <#ty as ::pulse_sdk::FieldValue>::Path {
                <#ty as ::pulse_sdk::FieldValue>::path(format!("{}{}", self.prefix, #fname))
            }
        });
        // Computed and related fields are set by the host, never by create/write.
        if !derived {
            setters.push(quote! {
                #[doc = concat!("Sets `", #fname, "`.")]
                pub fn #fident(mut self, value: impl ::pulse_sdk::IntoField<#ty>) -> Self {
                    self.values.insert(
                        #fname.to_string(),
                        ::pulse_sdk::__rt::value_of::<#ty>(value),
                    );
                    self
                }
            });
            if !has_default {
                let required = fopts.flag("required");
                required_checks.push(quote! {
                    if (#required || <#ty as ::pulse_sdk::FieldValue>::NON_EMPTY)
                        && !self.values.contains_key(#fname)
                    {
                        return Err(::pulse_sdk::__rt::missing_field(#model_name, #create_call, #fname));
                    }
                });
            }
        }
    }

    let vis = &input.vis;
    let create_ident = format_ident!("{}Create", ident);
    let write_ident = format_ident!("{}Write", ident);
    let fields_ident = format_ident!("{}Fields", ident);
    let registered = quote_spanned!(ident.span()=>
        const _: () = ::pulse_sdk::__rt::registered_model::<#ident>();
    );
    Ok(quote! {
        impl ::pulse_sdk::Model for #ident {
            const NAME: &'static str = #model_name;
            type Create = #create_ident;
            type Write = #write_ident;
            type Fields = #fields_ident;

            fn spec() -> ::pulse_sdk::ModelSpec {
                ::pulse_sdk::ModelSpec {
                    name: #model_name.to_string(),
                    description: #description.to_string(),
                    fields: ::std::vec![#(#specs),*],
                    extends: #extends,
                    checks: ::std::vec![#(#checks),*],
                }
            }

            fn field_names() -> ::std::vec::Vec<&'static str> {
                ::std::vec![#(#names),*]
            }

            fn from_record(
                record: &::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value>,
            ) -> ::pulse_sdk::Result<Self> {
                Ok(Self { #(#readers),* })
            }
        }

        impl #ident {
            #[doc = concat!("The values of a new `", #model_name, "` record, set field by field; pass it to `env.model::<", stringify!(#ident), ">().create_one(…)`.")]
            pub fn create() -> #create_ident {
                #create_ident { values: ::pulse_sdk::Map::new() }
            }

            #[doc = concat!("The values a write on `", #model_name, "` changes, set field by field; pass it to `env.model::<", stringify!(#ident), ">().write(ids, …)`.")]
            pub fn write() -> #write_ident {
                #write_ident { values: ::pulse_sdk::Map::new() }
            }

            #[doc = concat!("Typed paths to the fields of `", #model_name, "`, for domains.")]
            pub fn fields() -> #fields_ident {
                #fields_ident { prefix: ::std::string::String::new() }
            }
        }

        #[doc = concat!("The values of a new `", #model_name, "` record (`", stringify!(#ident), "::create()`).")]
        #[derive(Debug, Clone, Default, PartialEq)]
        #vis struct #create_ident {
            values: ::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value>,
        }

        impl #create_ident {
            #(#setters)*
        }

        impl ::pulse_sdk::CreateValues for #create_ident {
            fn into_values(
                self,
            ) -> ::pulse_sdk::Result<::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value>> {
                #(#required_checks)*
                Ok(self.values)
            }
        }

        #[doc = concat!("The values a write on `", #model_name, "` changes (`", stringify!(#ident), "::write()`).")]
        #[derive(Debug, Clone, Default, PartialEq)]
        #vis struct #write_ident {
            values: ::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value>,
        }

        impl #write_ident {
            #(#setters)*
        }

        impl ::pulse_sdk::WriteValues for #write_ident {
            fn into_values(self) -> ::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value> {
                self.values
            }
        }

        #[doc = concat!("Typed paths to the fields of `", #model_name, "` (`", stringify!(#ident), "::fields()`).")]
        #vis struct #fields_ident {
            prefix: ::std::string::String,
        }

        impl #fields_ident {
            /// The path of the record id.
            pub fn id(&self) -> ::pulse_sdk::Field<i64> {
                ::pulse_sdk::Field::new(format!("{}id", self.prefix))
            }
            #(#paths)*
        }

        impl ::pulse_sdk::ModelFields for #fields_ident {
            fn with_prefix(prefix: ::std::string::String) -> Self {
                #fields_ident { prefix }
            }
        }

        #registered
    })
}

/// `#[check(name = "…", domain = "<JSON domain>", message = "…")]` on the
/// struct, any number of times; the domain is checked here so a typo fails
/// the build.
fn check_attributes(attrs: &[syn::Attribute]) -> syn::Result<Vec<TokenStream2>> {
    let mut checks = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("check")) {
        let options = Options::parse(std::slice::from_ref(attr), "check")?;
        options.check(&[], &["name", "domain", "message"], attr.span())?;
        let get = |key: &str| {
            options.value(key).cloned().ok_or_else(|| {
                syn::Error::new(
                    attr.span(),
                    format!("#[check] needs {key} = \"…\" (name, domain and message)"),
                )
            })
        };
        let (name, domain, message) = (get("name")?, get("domain")?, get("message")?);
        match serde_json::from_str::<serde_json::Value>(&domain.value()) {
            Ok(serde_json::Value::Array(_)) => {}
            Ok(_) => {
                return Err(syn::Error::new(
                    domain.span(),
                    "domain must be a JSON list, e.g. \"[[\\\"qty\\\", \\\">=\\\", 0]]\"",
                ));
            }
            Err(e) => {
                return Err(syn::Error::new(
                    domain.span(),
                    format!("domain must be JSON: {e}"),
                ));
            }
        }
        checks.push(quote! {
            ::pulse_sdk::CheckSpec {
                name: #name.to_string(),
                domain: ::pulse_sdk::serde_json::from_str(#domain).expect("checked at build time"),
                message: #message.to_string(),
            }
        });
    }
    Ok(checks)
}

/// The string literal of `name = "…"`.
fn string_literal(nv: &syn::MetaNameValue) -> syn::Result<LitStr> {
    match &nv.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(
            other.span(),
            "expected a string literal, e.g. model = \"todo.task\" or constrains = \"qty, price\"",
        )),
    }
}

/// `"a, b,c"` -> `["a", "b", "c"]`.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `due_date` -> `Due Date`, as Odoo derives a field's label from its name.
fn default_label(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Declares a model method: `#[method(model = "todo.task")]` on
/// `fn name(env: &Env, ids: &[i64], arg: T, …) -> Result<R>`.
///
/// Extra parameters are decoded from the call's positional arguments, or
/// from its keyword arguments by parameter name; `R` is returned as JSON.
///
/// `public` also gives the addons depending on this one a typed client,
/// compiled with the crate's `client` feature:
/// `crate::client::AccountAccount::trial_balance(env, ids, arg, …) -> Result<R>`
/// for `#[method(model = "account.account", public)] fn trial_balance`.
/// The crate declares the client types (`pub struct AccountAccount;` in a
/// `#[cfg(feature = "client")] pub mod client`).
#[proc_macro_attribute]
pub fn method(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_function(attr, item, expand_method)
}

/// The client type of a model's public methods: `account.account` is
/// `AccountAccount` (`crate::client::AccountAccount`).
fn client_type_name(model: &str) -> String {
    model
        .split(['.', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn expand_method(attr: TokenStream2, function: &ItemFn) -> syn::Result<TokenStream2> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut model = None;
    let mut name = None;
    let mut constrains = Vec::new();
    let mut public = false;
    for meta in metas {
        match meta {
            Meta::Path(path) if path.is_ident("public") => public = true,
            Meta::NameValue(nv) if nv.path.is_ident("constrains") => {
                constrains = comma_list(&string_literal(&nv)?.value());
            }
            Meta::NameValue(nv) if nv.path.is_ident("model") || nv.path.is_ident("name") => {
                let s = string_literal(&nv)?;
                if nv.path.is_ident("model") {
                    model = Some(s);
                } else {
                    name = Some(s);
                }
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected model = \"…\" (and optionally name = \"…\", constrains = \"field, …\", public)",
                ));
            }
        }
    }
    let model = model.ok_or_else(|| {
        syn::Error::new(
            function.sig.span(),
            "missing model, e.g. #[method(model = \"todo.task\")]",
        )
    })?;
    let fn_ident = &function.sig.ident;
    let method_name = name
        .map(|n| n.value())
        .unwrap_or_else(|| fn_ident.to_string());
    let inputs: Vec<&FnArg> = function.sig.inputs.iter().collect();
    if inputs.len() < 2 {
        return Err(syn::Error::new(
            function.sig.span(),
            "a method takes at least (env: &Env, ids: &[i64])",
        ));
    }
    let mut decoders = Vec::new();
    let mut call_args = Vec::new();
    let mut client_params = Vec::new();
    let mut client_args = Vec::new();
    for (position, input) in inputs.iter().skip(2).enumerate() {
        let FnArg::Typed(pat_type) = input else {
            return Err(syn::Error::new(
                input.span(),
                "methods are free functions, not `self` methods",
            ));
        };
        let Pat::Ident(pat_ident) = &*pat_type.pat else {
            return Err(syn::Error::new(
                pat_type.pat.span(),
                "expected a plain parameter name",
            ));
        };
        let arg_name = pat_ident.ident.to_string();
        let local = format_ident!("__arg{}", position);
        let ty = &pat_type.ty;
        decoders.push(quote! {
            let #local: #ty = ::pulse_sdk::__rt::argument(args, kwargs, #position, #arg_name)?;
        });
        call_args.push(local);
        let param = &pat_ident.ident;
        client_params.push(quote! { #param: #ty });
        client_args.push(param.clone());
    }
    // `public`: a typed client for the addons that depend on this one,
    // compiled with the crate's `client` feature (see docs/addon-api.md).
    let client = if public {
        let client_type = format_ident!("{}", client_type_name(&model.value()));
        let output = &function.sig.output;
        let doc = format!(
            "Calls `{}.{method_name}` through the host (see [`super::{fn_ident}`]).",
            model.value()
        );
        quote! {
            #[cfg(feature = "client")]
            impl crate::client::#client_type {
                #[doc = #doc]
                pub fn #fn_ident(env: &::pulse_sdk::Env, ids: &[i64] #(, #client_params)*) #output {
                    env.call(
                        #model,
                        #method_name,
                        ids,
                        ::pulse_sdk::Value::Array(::std::vec![#(::pulse_sdk::__rt::result_value(&#client_args)?),*]),
                        ::pulse_sdk::Value::Object(::pulse_sdk::Map::new()),
                    )
                }
            }
        }
    } else {
        quote! {}
    };

    Ok(with_marker(
        function,
        quote! {
        impl ::pulse_sdk::Method for #fn_ident {
            const MODEL: &'static str = #model;
            const NAME: &'static str = #method_name;
            const CONSTRAINS: &'static [&'static str] = &[#(#constrains),*];

            fn call(
                env: &::pulse_sdk::Env,
                ids: &[i64],
                args: &[::pulse_sdk::Value],
                kwargs: &::pulse_sdk::Map<::std::string::String, ::pulse_sdk::Value>,
            ) -> ::pulse_sdk::Result<::pulse_sdk::Value> {
                #(#decoders)*
                ::pulse_sdk::__rt::result_value(#fn_ident(env, ids #(, #call_args)*)?)
            }
        }
        #client
        },
        "registered_method",
    ))
}

/// Expands an attribute on a function with `expand`; its error, if any,
/// as a compile error.
fn on_function(
    attr: TokenStream,
    item: TokenStream,
    expand: fn(TokenStream2, &ItemFn) -> syn::Result<TokenStream2>,
) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    match expand(attr.into(), &function) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Declares an HTTP route: `#[route(method = "POST", path = "/x/{id}",
/// auth = "user")]` on `fn name(env: &Env, request: &Request) -> Result<Response>`.
///
/// `method` is `GET`, `POST`, `PUT`, `PATCH` or `DELETE`; `path` starts with
/// `/` and may hold `{name}` segments; `auth` is `public`, `user` or
/// `api_key`; `max_body = 65536` caps the request body (the host's default
/// otherwise).
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_function(attr, item, expand_route)
}

fn expand_route(attr: TokenStream2, function: &ItemFn) -> syn::Result<TokenStream2> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut method = None;
    let mut path = None;
    let mut auth = None;
    let mut max_body = quote! { ::std::option::Option::None };
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("method") => {
                let s = string_literal(&nv)?;
                if !pulse_schema::ROUTE_METHODS.contains(&s.value().as_str()) {
                    return Err(syn::Error::new(
                        s.span(),
                        "method must be one of GET, POST, PUT, PATCH, DELETE",
                    ));
                }
                method = Some(s);
            }
            Meta::NameValue(nv) if nv.path.is_ident("path") => {
                let s = string_literal(&nv)?;
                if let Err(why) = pulse_schema::route_segments(&s.value()) {
                    return Err(syn::Error::new(s.span(), why));
                }
                path = Some(s);
            }
            Meta::NameValue(nv) if nv.path.is_ident("auth") => {
                let s = string_literal(&nv)?;
                let variant = match s.value().as_str() {
                    "public" => quote! { Public },
                    "user" => quote! { User },
                    "api_key" => quote! { ApiKey },
                    _ => {
                        return Err(syn::Error::new(
                            s.span(),
                            "auth must be \"public\", \"user\" or \"api_key\"",
                        ));
                    }
                };
                auth = Some(variant);
            }
            Meta::NameValue(nv) if nv.path.is_ident("max_body") => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }) => {
                    let n: usize = n.base10_parse()?;
                    max_body = quote! { ::std::option::Option::Some(#n) };
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "max_body is a number of bytes, e.g. max_body = 65536",
                    ));
                }
            },
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected method = \"…\", path = \"…\", auth = \"…\" (and optionally max_body = N)",
                ));
            }
        }
    }
    let missing = |what: &str| {
        syn::Error::new(
            function.sig.span(),
            format!(
                "missing {what}, e.g. #[route(method = \"GET\", path = \"/todo/summary\", auth = \"user\")]"
            ),
        )
    };
    let method = method.ok_or_else(|| missing("method"))?;
    let path = path.ok_or_else(|| missing("path"))?;
    let auth = auth.ok_or_else(|| missing("auth"))?;
    if function.sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            function.sig.span(),
            "a route takes (env: &Env, request: &Request) and returns Result<Response>",
        ));
    }
    let fn_ident = &function.sig.ident;
    let name = fn_ident.to_string();
    Ok(with_marker(
        function,
        quote! {
        impl ::pulse_sdk::Route for #fn_ident {
            const NAME: &'static str = #name;
            const METHOD: &'static str = #method;
            const PATH: &'static str = #path;
            const AUTH: ::pulse_sdk::RouteAuth = ::pulse_sdk::RouteAuth::#auth;
            const MAX_BODY: ::std::option::Option<usize> = #max_body;

            fn handle(
                env: &::pulse_sdk::Env,
                request: &::pulse_sdk::Request,
            ) -> ::pulse_sdk::Result<::pulse_sdk::Response> {
                #fn_ident(env, request)
            }
        }
        },
        "registered_route",
    ))
}

/// Declares a record-event handler: `#[event(model = "res.partner", on =
/// "create, write", domain = r#"[["active", "=", true]]"#, fields = "name,
/// email")]` on `fn name(env: &Env, event: &RecordEvent) -> Result<()>`.
///
/// `on` lists `create`, `write` and `unlink`; `domain` (a JSON Odoo
/// domain, checked here) and `fields` (for writes: only when one of them is
/// written) are optional. Register it in `addon!`'s `events: [...]`.
#[proc_macro_attribute]
pub fn event(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_function(attr, item, expand_event)
}

fn expand_event(attr: TokenStream2, function: &ItemFn) -> syn::Result<TokenStream2> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let (mut model, mut on, mut domain, mut fields) = (None, Vec::new(), None, Vec::new());
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new(
                meta.span(),
                "expected model = \"…\", on = \"create, write, unlink\" (and optionally domain = \"…\", fields = \"…\")",
            ));
        };
        let value = string_literal(nv)?;
        if nv.path.is_ident("model") {
            model = Some(value);
        } else if nv.path.is_ident("on") {
            for kind in comma_list(&value.value()) {
                let variant = match kind.as_str() {
                    "create" => quote!(Create),
                    "write" => quote!(Write),
                    "unlink" => quote!(Unlink),
                    other => {
                        return Err(syn::Error::new(
                            value.span(),
                            format!(
                                "unknown operation `{other}`; on lists create, write and unlink"
                            ),
                        ));
                    }
                };
                on.push(quote!(::pulse_sdk::EventKind::#variant));
            }
        } else if nv.path.is_ident("domain") {
            match serde_json::from_str::<serde_json::Value>(&value.value()) {
                Ok(serde_json::Value::Array(_)) => domain = Some(value),
                _ => {
                    return Err(syn::Error::new(
                        value.span(),
                        "domain must be a JSON list, e.g. r#\"[[\"active\", \"=\", true]]\"#",
                    ));
                }
            }
        } else if nv.path.is_ident("fields") {
            fields = comma_list(&value.value());
        } else {
            return Err(syn::Error::new(
                nv.path.span(),
                "unknown option; expected model, on, domain or fields",
            ));
        }
    }
    let model = model.ok_or_else(|| {
        syn::Error::new(
            function.sig.span(),
            "missing model, e.g. #[event(model = \"res.partner\", on = \"write\")]",
        )
    })?;
    if on.is_empty() {
        return Err(syn::Error::new(
            function.sig.span(),
            "missing on, e.g. #[event(model = \"res.partner\", on = \"create, write\")]",
        ));
    }
    if function.sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            function.sig.span(),
            "an event handler takes (env: &Env, event: &RecordEvent) and returns Result<()>",
        ));
    }
    let domain = match domain {
        Some(d) => quote!(::std::option::Option::Some(#d)),
        None => quote!(::std::option::Option::None),
    };
    let fn_ident = &function.sig.ident;
    let name = fn_ident.to_string();
    Ok(with_marker(
        function,
        quote! {
            impl ::pulse_sdk::EventHandler for #fn_ident {
                const NAME: &'static str = #name;
                const MODEL: &'static str = #model;
                const ON: &'static [::pulse_sdk::EventKind] = &[#(#on),*];
                const DOMAIN: ::std::option::Option<&'static str> = #domain;
                const FIELDS: &'static [&'static str] = &[#(#fields),*];

                fn handle(
                    env: &::pulse_sdk::Env,
                    event: &::pulse_sdk::RecordEvent,
                ) -> ::pulse_sdk::Result<()> {
                    #fn_ident(env, event)
                }
            }
        },
        "registered_event",
    ))
}

/// `function`, a marker struct of its name (what `addon!` names),
/// `implementation`, the struct's trait implementation, and the check
/// (`pulse_sdk::__rt::registered_*`) that fails to compile unless
/// `addon!` lists the item.
fn with_marker(function: &ItemFn, implementation: TokenStream2, check: &str) -> TokenStream2 {
    let fn_ident = &function.sig.ident;
    let vis = &function.vis;
    let check = format_ident!("{}", check);
    let registered = quote_spanned!(fn_ident.span()=>
        const _: () = ::pulse_sdk::__rt::#check::<#fn_ident>();
    );
    quote! {
        #function

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #fn_ident {}

        #implementation

        #registered
    }
}

/// Declares the addon's authentication policy: `#[auth_policy]` on
/// `fn name(env: &Env, attempt: &LoginAttempt) -> Result<LoginDecision>`.
/// Register it in `addon!` as `auth_policy: name`.
#[proc_macro_attribute]
pub fn auth_policy(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    let attr = TokenStream2::from(attr);
    if !attr.is_empty() {
        return syn::Error::new(attr.span(), "#[auth_policy] takes no options")
            .to_compile_error()
            .into();
    }
    if function.sig.inputs.len() != 2 {
        return syn::Error::new(
            function.sig.span(),
            "a policy takes (env: &Env, attempt: &LoginAttempt) and returns Result<LoginDecision>",
        )
        .to_compile_error()
        .into();
    }
    let fn_ident = &function.sig.ident;
    with_marker(
        &function,
        quote! {
            impl ::pulse_sdk::AuthPolicy for #fn_ident {
                fn check(
                    env: &::pulse_sdk::Env,
                    attempt: &::pulse_sdk::LoginAttempt,
                ) -> ::pulse_sdk::Result<::pulse_sdk::LoginDecision> {
                    #fn_ident(env, attempt)
                }
            }
        },
        "registered_auth_policy",
    )
    .into()
}

/// A scheduled job: `#[cron(name = "Nightly close", interval = "1 days")]`
/// on `fn job(env: &Env, scheduled: String) -> Result<()>`. List the function
/// in `addon!`'s `crons`.
#[proc_macro_attribute]
pub fn cron(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_function(attr, item, expand_cron)
}

fn expand_cron(attr: TokenStream2, function: &ItemFn) -> syn::Result<TokenStream2> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut name = None;
    let mut interval = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => {
                let s = string_literal(&nv)?;
                if s.value().trim().is_empty() {
                    return Err(syn::Error::new(s.span(), "a job's name may not be empty"));
                }
                name = Some(s);
            }
            Meta::NameValue(nv) if nv.path.is_ident("interval") => {
                let s = string_literal(&nv)?;
                let parsed = pulse_schema::parse_interval(&s.value())
                    .map_err(|why| syn::Error::new(s.span(), why))?;
                interval = Some(parsed);
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected name = \"…\" and interval = \"…\", e.g. #[cron(name = \"Nightly close\", interval = \"1 days\")]",
                ));
            }
        }
    }
    let missing = |what: &str| {
        syn::Error::new(
            function.sig.span(),
            format!(
                "missing {what}, e.g. #[cron(name = \"Nightly close\", interval = \"1 days\")]"
            ),
        )
    };
    let name = name.ok_or_else(|| missing("name"))?;
    let (number, unit) = interval.ok_or_else(|| missing("interval"))?;
    if function.sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            function.sig.span(),
            "a scheduled job takes (env: &Env, scheduled: String) and returns Result<()>",
        ));
    }
    let fn_ident = &function.sig.ident;
    let job = fn_ident.to_string();
    Ok(with_marker(
        function,
        quote! {
        impl ::pulse_sdk::Cron for #fn_ident {
            const JOB: &'static str = #job;
            const NAME: &'static str = #name;
            const INTERVAL_NUMBER: i64 = #number;
            const INTERVAL_TYPE: &'static str = #unit;

            fn run(env: &::pulse_sdk::Env, scheduled: ::std::string::String) -> ::pulse_sdk::Result<()> {
                #fn_ident(env, scheduled)
            }
        }
        },
        "registered_cron",
    ))
}

#[cfg(test)]
mod tests {
    use super::{client_type_name, default_label};

    #[test]
    fn client_types_are_the_model_in_camel_case() {
        assert_eq!(client_type_name("account.account"), "AccountAccount");
        assert_eq!(client_type_name("account.move.line"), "AccountMoveLine");
        assert_eq!(
            client_type_name("finance.ssc.bir_form"),
            "FinanceSscBirForm"
        );
        assert_eq!(client_type_name("x"), "X");
    }

    #[test]
    fn selection_values_are_snake_case() {
        assert_eq!(super::snake_case("InProgress"), "in_progress");
        assert_eq!(super::snake_case("Draft"), "draft");
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(
            super::did_you_mean("nmae", &["name", "description"]),
            " (did you mean `name`?)"
        );
        assert_eq!(super::did_you_mean("zzzzzz", &["name"]), "");
    }

    #[test]
    fn labels_follow_odoo() {
        assert_eq!(default_label("due_date"), "Due Date");
        assert_eq!(default_label("name"), "Name");
    }
}
