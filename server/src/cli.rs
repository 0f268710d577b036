//! The `atelier` command line.

use std::{net::SocketAddr, path::PathBuf, time::Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{
    config::Config,
    demo::{self, SeedOptions},
    http::{router, ServerState},
    storage::FileStore,
    store,
};

#[derive(Debug, Parser)]
#[command(
    name = "atelier",
    version,
    about = "A self-hosted gallery for AI-generated images and videos, with their prompts."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory for the SQLite database and stored files.
    #[arg(
        long,
        env = "ATELIER_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database to use: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and its API.
    Serve(ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Fill an empty instance with synthetic users and assets (same seed, same data).
    SeedDemo(SeedArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ATELIER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many assets to create.
    #[arg(long)]
    pub count: u64,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Create database rows only, without generating image and video files (for benchmarks).
    #[arg(long)]
    pub no_files: bool,
    /// Do nothing, successfully, when the database already holds assets.
    #[arg(long)]
    pub if_empty: bool,
}

pub fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::resolve(&cli.global.data_dir, cli.global.database_url.as_deref())?;
    match cli.command {
        Command::Serve(args) => serve(&config, args).await,
        Command::Migrate => {
            let store = store::open(&config.database_url).await?;
            tracing::info!(backend = store.backend(), "schema is up to date");
            store.close().await;
            Ok(())
        }
        Command::SeedDemo(args) => seed(&config, args).await,
    }
}

async fn serve(config: &Config, args: ServeArgs) -> Result<()> {
    let store = store::open(&config.database_url).await?;
    let files = FileStore::open(&config.data_dir).with_context(|| {
        format!(
            "cannot prepare file storage in {}",
            config.data_dir.display()
        )
    })?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let app = router(ServerState::new(store.clone(), files));
    tracing::info!(
        backend = store.backend(),
        data_dir = %config.data_dir.display(),
        "atelier listening on http://{}",
        args.addr
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped unexpectedly")?;
    tracing::info!("shutting down");
    store.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn seed(config: &Config, args: SeedArgs) -> Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let store = store::open(&config.database_url).await?;
    let existing = store.count_assets().await?;
    if existing > 0 {
        store.close().await;
        if args.if_empty {
            tracing::info!(
                existing,
                "the database already holds assets; nothing to seed"
            );
            return Ok(());
        }
        bail!(
            "the database already holds {existing} assets; seed-demo fills only an empty \
             instance (add --if-empty to skip quietly)"
        );
    }
    let files = if args.no_files {
        None
    } else {
        Some(FileStore::open(&config.data_dir).with_context(|| {
            format!(
                "cannot prepare file storage in {}",
                config.data_dir.display()
            )
        })?)
    };
    let started = Instant::now();
    let options = SeedOptions {
        count: args.count,
        seed: args.seed,
    };
    let result = demo::seed(store.as_ref(), files.as_ref(), &options).await;
    store.close().await;
    let report = result?;
    tracing::info!(
        users = report.users,
        assets = report.assets,
        files = report.files,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "demo data ready"
    );
    Ok(())
}
