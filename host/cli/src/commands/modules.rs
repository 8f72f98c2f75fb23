//! The Apps lifecycle: install, uninstall, upgrade, marks and `apply`, the
//! list of modules, `plan` and `update-list`.

use anyhow::Result;
use pulse_core::{ChangeKind, Host, Operation, PlanReport};

/// Arguments of `pulse install`.
#[derive(Debug, clap::Args)]
pub struct Install {
    /// Addons to install.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Arguments of `pulse uninstall`.
#[derive(Debug, clap::Args)]
pub struct Uninstall {
    /// Addons to uninstall.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Arguments of `pulse upgrade`.
#[derive(Debug, clap::Args)]
pub struct Upgrade {
    /// Addons to upgrade.
    #[arg(required_unless_present = "changed")]
    pub names: Vec<String>,
    /// Upgrade the installed addons whose component or version changed since
    /// their last install or upgrade.
    #[arg(long)]
    pub changed: bool,
}

/// Arguments of `pulse mark`.
#[derive(Debug, clap::Args)]
pub struct Mark {
    /// install, upgrade or uninstall.
    #[arg(value_enum)]
    pub operation: PlanOperation,
    /// Addons to mark.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Arguments of `pulse modules`.
#[derive(Debug, clap::Args)]
pub struct List {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `pulse plan`.
#[derive(Debug, clap::Args)]
pub struct Plan {
    /// install, upgrade or uninstall.
    #[arg(value_enum)]
    pub operation: PlanOperation,
    /// Addons the operation is for.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The operations `pulse plan` and `pulse mark` take, as typed.
// The variants have no doc comments on purpose: clap would turn them into a
// "Possible values" list and change the help text.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanOperation {
    Install,
    Upgrade,
    Uninstall,
}

impl From<PlanOperation> for Operation {
    fn from(operation: PlanOperation) -> Operation {
        match operation {
            PlanOperation::Install => Operation::Install,
            PlanOperation::Upgrade => Operation::Upgrade,
            PlanOperation::Uninstall => Operation::Uninstall,
        }
    }
}

/// `pulse install`.
pub async fn install(host: &Host, args: &Install) -> Result<()> {
    let done = host.install(&args.names).await?;
    if done.is_empty() {
        println!(
            "nothing to install: {} already installed",
            args.names.join(", ")
        );
    } else {
        println!("installed: {}", done.join(", "));
    }
    Ok(())
}

/// `pulse uninstall`.
pub async fn uninstall(host: &Host, args: &Uninstall) -> Result<()> {
    let done = host.uninstall(&args.names).await?;
    println!("uninstalled: {}", done.join(", "));
    Ok(())
}

/// `pulse upgrade`: the addons named, plus with `--changed` those whose
/// component or version changed.
pub async fn upgrade(host: &Host, args: &Upgrade) -> Result<()> {
    let mut targets = args.names.clone();
    if args.changed {
        targets.extend(host.changed().await?);
        targets.sort();
        targets.dedup();
    }
    if targets.is_empty() {
        println!("nothing to upgrade: no installed addon changed");
        return Ok(());
    }
    let done = host.upgrade(&targets).await?;
    println!("upgraded: {}", done.join(", "));
    Ok(())
}

/// `pulse mark`.
pub async fn mark(host: &Host, args: &Mark) -> Result<()> {
    let plan = host.mark(args.operation.into(), &args.names).await?;
    for step in &plan.steps {
        println!("marked {} ({})", step.addon, step.reason);
    }
    Ok(())
}

/// `pulse apply`.
pub async fn apply(host: &Host) -> Result<()> {
    let done = host.apply_marked().await?;
    if done.is_empty() {
        println!("nothing to apply: no pending marks");
    } else {
        println!("applied: {}", done.join(", "));
    }
    Ok(())
}

/// `pulse reset`.
pub async fn reset(host: &Host) -> Result<()> {
    println!("reset {} mark(s)", host.reset_marks().await?);
    Ok(())
}

/// `pulse modules`: a table, or JSON with `--json`.
pub async fn list(host: &Host, args: &List) -> Result<()> {
    let modules = host.modules().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&modules)?);
        return Ok(());
    }
    println!(
        "{:<28} {:<14} {:<10} {:<10} TITLE",
        "NAME", "STATE", "INSTALLED", "AVAILABLE"
    );
    for m in modules {
        println!(
            "{:<28} {:<14} {:<10} {:<10} {}",
            m.name,
            m.state.as_str(),
            m.installed_version.as_deref().unwrap_or("-"),
            m.available_version.as_deref().unwrap_or("-"),
            m.title
        );
    }
    Ok(())
}

/// `pulse update-list`.
pub async fn update_list(host: &Host) -> Result<()> {
    let (updatable, added) = host.update_list().await?;
    println!("update_list: {updatable} updatable, {added} added");
    Ok(())
}

/// `pulse plan`: the report as text, or JSON with `--json`.
pub async fn plan(host: &Host, args: &Plan) -> Result<()> {
    let report = host.plan(args.operation.into(), &args.names).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_plan(&report);
    }
    Ok(())
}

/// The steps in order, then the schema changes with the data they touch,
/// the permissions asked for, and the notes.
fn print_plan(report: &PlanReport) {
    let operation = serde_json::to_value(report.operation).unwrap_or_default();
    let operation = operation.as_str().unwrap_or("plan");
    if report.steps.is_empty() {
        println!("{operation} {}: nothing to do", report.targets.join(", "));
        return;
    }
    println!(
        "{operation} {}: {} step(s)",
        report.targets.join(", "),
        report.steps.len()
    );
    for (i, step) in report.steps.iter().enumerate() {
        let action = serde_json::to_value(step.action).unwrap_or_default();
        println!(
            "{:>4}. {:<10} {:<32} {}",
            i + 1,
            action.as_str().unwrap_or(""),
            step.addon,
            step.reason
        );
    }
    for change in &report.changes {
        let target = match &change.column {
            Some(column) => format!("{}.{column}", change.table),
            None => change.table.clone(),
        };
        let data = match change.kind {
            ChangeKind::CreateTable | ChangeKind::AddColumn => String::new(),
            ChangeKind::DropTable => format!(": {} row(s)", change.rows),
            ChangeKind::ChangeType | ChangeKind::DropColumn => {
                format!(": {} value(s)", change.rows)
            }
        };
        println!(
            "      {} {target} ({}){data}",
            change.kind.as_str(),
            change.addon
        );
    }
    for request in &report.permissions {
        if request.granted {
            println!(
                "      permission {} asked by {}: granted",
                request.permission, request.addon
            );
        } else {
            println!(
                "      permission {} asked by {}: NOT granted (pulse grant {} {})",
                request.permission, request.addon, request.addon, request.permission
            );
        }
    }
    for note in &report.notes {
        println!("      note: {note}");
    }
}
