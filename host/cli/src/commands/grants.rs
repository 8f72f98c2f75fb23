//! `pulse grant` and `pulse revoke`: what an addon may do beyond the sandbox.

use anyhow::Result;
use pulse_core::Host;

/// Arguments of `pulse grant`.
#[derive(Debug, clap::Args)]
pub struct Grant {
    /// The addon.
    pub addon: String,
    /// Permissions to grant.
    #[arg(required = true)]
    pub permissions: Vec<String>,
}

/// Arguments of `pulse revoke`.
#[derive(Debug, clap::Args)]
pub struct Revoke {
    /// The addon.
    pub addon: String,
    /// Permissions to take back.
    #[arg(required = true)]
    pub permissions: Vec<String>,
}

/// `pulse grant`.
pub async fn grant(host: &Host, args: &Grant) -> Result<()> {
    set(host, &args.addon, &args.permissions, true).await
}

/// `pulse revoke`.
pub async fn revoke(host: &Host, args: &Revoke) -> Result<()> {
    set(host, &args.addon, &args.permissions, false).await
}

async fn set(host: &Host, addon: &str, permissions: &[String], on: bool) -> Result<()> {
    host.grant(addon, permissions, on).await?;
    let verb = if on { "granted" } else { "revoked" };
    println!("{verb}: {} for {addon}", permissions.join(", "));
    Ok(())
}
