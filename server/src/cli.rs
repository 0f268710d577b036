//! The `atelier` command line.

use std::{
    fmt,
    net::SocketAddr,
    path::PathBuf,
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{
    admin::{self, NewPassword},
    background::{Background, Plan},
    config::Config,
    demo::{self, SeedOptions},
    http::{
        rate::{self, Rate, RateLimits},
        router,
        serve::{self as serving, ConnectionLimits},
        timeouts::{self, RequestLimits},
        Security, ServerState,
    },
    net::{IpRange, TrustedProxies},
    storage::FileStore,
    store,
};
use app::account::UserStatus;

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

// Parsed once at start-up: the size of `ServeArgs` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and its API.
    Serve(ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Fill an empty instance with synthetic users and assets (same seed, same data).
    SeedDemo(SeedArgs),
    /// Manage accounts: create, disable, change role, reset a password.
    #[command(subcommand)]
    User(UserCommand),
    /// Show or change runtime settings (such as whether registration is open).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Read the generation metadata of stored assets again (after a parser upgrade).
    Reparse(ReparseArgs),
}

#[derive(Debug, Args)]
pub struct ReparseArgs {
    /// Re-read every asset, not only those an older parser read.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ATELIER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Send the session cookie without `Secure` and the `__Host-` prefix. Only for plain
    /// HTTP on a host other than localhost (browsers treat localhost as secure).
    #[arg(long, env = "ATELIER_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// Proxies whose X-Forwarded-For is believed, as addresses or CIDR ranges separated
    /// by commas (e.g. 127.0.0.1,10.0.0.0/8). Without it the socket's peer is the client.
    #[arg(long, env = "ATELIER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpRange>,
    /// Accounts one client address may register, e.g. 10/hour (`off`: no limit).
    #[arg(long, env = "ATELIER_RATE_REGISTER", default_value_t = rate::REGISTER)]
    pub rate_register: Rate,
    /// Uploads one client address may start, e.g. 100/minute (`off`: no limit).
    #[arg(long, env = "ATELIER_RATE_UPLOAD_START", default_value_t = rate::UPLOAD_START)]
    pub rate_upload_start: Rate,
    /// Gallery, profile and tag pages and search API calls per client address.
    #[arg(long, env = "ATELIER_RATE_SEARCH", default_value_t = rate::SEARCH)]
    pub rate_search: Rate,
    /// Filter counts (`/api/facets`) per client address.
    #[arg(long, env = "ATELIER_RATE_FACETS", default_value_t = rate::FACETS)]
    pub rate_facets: Rate,
    /// Likes and unlikes (`/api/assets/like`) per client address.
    #[arg(long, env = "ATELIER_RATE_LIKES", default_value_t = rate::LIKES)]
    pub rate_likes: Rate,
    /// Longest a client may take to send a request's headers; an HTTP/1.1 connection
    /// idle between requests closes after it too. Durations: 10s, 500ms, 2m, 1h.
    #[arg(long, env = "ATELIER_HEADER_TIMEOUT", default_value_t = Span(serving::HEADER_TIMEOUT))]
    pub header_timeout: Span,
    /// A connection with no request being handled and nothing sent for this long is closed.
    #[arg(long, env = "ATELIER_IDLE_TIMEOUT", default_value_t = Span(serving::IDLE_TIMEOUT))]
    pub idle_timeout: Span,
    /// Connections served at once; past it, a new one waits 2 s for a slot, then is
    /// closed. At start the soft open-file limit is raised to fit it (up to the hard
    /// limit; a warning says when that is not enough).
    #[arg(
        long,
        env = "ATELIER_MAX_CONNECTIONS",
        default_value_t = serving::MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,
    /// Longest an ordinary request may take until its answer begins (then 503).
    #[arg(long, env = "ATELIER_REQUEST_TIMEOUT", default_value_t = Span(timeouts::REQUEST_TIMEOUT))]
    pub request_timeout: Span,
    /// Longest the bytes of one upload request (a chunk, or a whole file) may take to arrive.
    #[arg(long, env = "ATELIER_UPLOAD_TIMEOUT", default_value_t = Span(timeouts::UPLOAD_TIMEOUT))]
    pub upload_timeout: Span,
    /// Slowest an upload body may arrive, in bytes per second over --upload-rate-window;
    /// slower, it is cut and the client resumes from what arrived (0: no minimum).
    #[arg(long, env = "ATELIER_UPLOAD_MIN_RATE", default_value_t = timeouts::UPLOAD_MIN_RATE)]
    pub upload_min_rate: u64,
    /// The stretch of time over which an upload's rate is measured.
    #[arg(long, env = "ATELIER_UPLOAD_RATE_WINDOW", default_value_t = Span(timeouts::UPLOAD_RATE_WINDOW))]
    pub upload_rate_window: Span,
    /// On SIGTERM or Ctrl-C, how long requests in flight may finish before their
    /// connections are closed (uploads still arriving are cut, and keep what arrived).
    #[arg(long, env = "ATELIER_SHUTDOWN_DEADLINE", default_value_t = Span(serving::SHUTDOWN_DEADLINE))]
    pub shutdown_deadline: Span,
    /// Longest one search or its facets may run; past it the search is stopped and
    /// answered 503, asking to narrow it.
    #[arg(long, env = "ATELIER_SEARCH_BUDGET", default_value_t = Span(store::SEARCH_BUDGET))]
    pub search_budget: Span,
}

/// A positive duration on the command line: `500ms`, `10s`, `2m`, `1h`, or a number of
/// seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let bad = || format!("“{text}” is not a duration such as 500ms, 10s, 2m or 1h");
        let n: u64 = number.parse().map_err(|_| bad())?;
        let duration = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        if duration.is_zero() {
            return Err(format!("“{text}”: the duration must be more than zero"));
        }
        Ok(Span(duration))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 != 0 {
            write!(f, "{ms}ms")
        } else if ms % 3_600_000 == 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms % 60_000 == 0 {
            write!(f, "{}m", ms / 60_000)
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Prints a generated password unless --password-stdin is given.
    Create {
        username: String,
        /// Make it an admin (registering never does; this or the setup link must).
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts that can log in.
    List,
    /// Refuse the account's logins and end its sessions at once.
    Disable { username: String },
    /// Let a disabled account log in again.
    Enable { username: String },
    /// Make the account an admin or a user.
    SetRole {
        username: String,
        #[arg(value_parser = ["admin", "user"])]
        role: String,
    },
    /// Set a new password (printed, unless --password-stdin) and end all its sessions.
    ResetPassword {
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show every runtime setting.
    List,
    /// Change one, e.g. `atelier settings set registration_mode closed`.
    Set { key: String, value: String },
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
        Command::User(command) => {
            let store = store::open(&config.database_url).await?;
            let result = user(store.as_ref(), command).await;
            store.close().await;
            result
        }
        Command::Settings(command) => {
            let store = store::open(&config.database_url).await?;
            let result = settings(store.as_ref(), command).await;
            store.close().await;
            result
        }
        Command::Reparse(args) => {
            let store = store::open(&config.database_url).await?;
            let files = FileStore::open(&config.data_dir)?;
            let result = reparse(store.as_ref(), &files, args).await;
            store.close().await;
            result
        }
    }
}

/// Re-reads the metadata of assets whose parser version is older than the current one.
async fn reparse(
    store: &dyn app::store::Store,
    files: &FileStore,
    args: ReparseArgs,
) -> Result<()> {
    use crate::media::meta::PARSER_VERSION;
    // `--all`: everything whose version is below one past the current, i.e. every asset.
    let below = if args.all {
        PARSER_VERSION + 1
    } else {
        PARSER_VERSION
    };
    let (mut seen, mut understood, mut failed) = (0u64, 0u64, 0u64);
    let mut after = app::store::AssetId(0);
    loop {
        let batch = store.reparse_batch(below, after, 200).await?;
        let Some(last) = batch.last() else { break };
        after = last.asset;
        for item in batch {
            seen += 1;
            let path = files.path_of(&item.original.storage_path);
            let mime = item.original.mime_type.clone();
            let read =
                tokio::task::spawn_blocking(move || crate::media::reread_metadata(&path, &mime))
                    .await
                    .context("metadata reading panicked")?;
            match read {
                Ok(kept) => {
                    understood += u64::from(kept.generation.is_some());
                    store.set_generation(item.asset, &kept.stored()).await?;
                }
                Err(err) => {
                    failed += 1;
                    eprintln!("{}: cannot read its file: {err}", item.public_id);
                }
            }
        }
    }
    println!(
        "re-read {seen} assets with parser version {PARSER_VERSION}: metadata understood in \
         {understood}, {failed} unreadable"
    );
    if failed > 0 {
        bail!("{failed} assets could not be read");
    }
    Ok(())
}

fn password_source(from_stdin: bool) -> Result<NewPassword> {
    if from_stdin {
        NewPassword::from_stdin()
    } else {
        Ok(NewPassword::Generated)
    }
}

async fn user(store: &dyn app::store::Store, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Create {
            username,
            admin,
            password_stdin,
        } => {
            let report =
                admin::create_user(store, &username, admin, password_source(password_stdin)?)
                    .await?;
            println!(
                "created {} ({})",
                report.user.username,
                report.user.role.as_str()
            );
            if let Some(password) = report.generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            println!(
                "{:<32} {:<6} {:<9} {:>7}  last login",
                "username", "role", "status", "logins"
            );
            for user in store.list_accounts().await? {
                println!(
                    "{:<32} {:<6} {:<9} {:>7}  {}",
                    user.username,
                    user.role.as_str(),
                    user.status.as_str(),
                    user.login_count,
                    user.last_login_at.map_or_else(
                        || "never".to_string(),
                        |at| at.format("%Y-%m-%d %H:%M UTC").to_string()
                    )
                );
            }
        }
        UserCommand::Disable { username } => {
            let user = admin::set_status(store, &username, UserStatus::Disabled).await?;
            println!("disabled {}; its sessions have ended", user.username);
        }
        UserCommand::Enable { username } => {
            let user = admin::set_status(store, &username, UserStatus::Enabled).await?;
            println!("enabled {}", user.username);
        }
        UserCommand::SetRole { username, role } => {
            let user = admin::set_role(store, &username, &role).await?;
            println!("{} is now {}", user.username, user.role.as_str());
        }
        UserCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let report =
                admin::reset_password(store, &username, password_source(password_stdin)?).await?;
            println!(
                "new password set for {}; its sessions have ended",
                report.user.username
            );
            if let Some(password) = report.generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

async fn settings(store: &dyn app::store::Store, command: SettingsCommand) -> Result<()> {
    match command {
        SettingsCommand::List => {
            // Every setting, with what is stored or else its default (and any stored key
            // this version does not know, as it is).
            let stored = store.list_settings().await?;
            for setting in app::settings::ALL {
                match stored.iter().find(|(key, _)| key == setting.key) {
                    Some((key, value)) => println!("{key} = {value}"),
                    None => println!("{} = {} (default)", setting.key, setting.default),
                }
            }
            for (key, value) in &stored {
                if app::settings::find(key).is_err() {
                    println!("{key} = {value} (unknown to this version)");
                }
            }
        }
        SettingsCommand::Set { key, value } => {
            let value = admin::set_setting(store, key.trim(), &value).await?;
            println!("{} = {value}", key.trim());
        }
    }
    Ok(())
}

async fn serve(config: &Config, args: ServeArgs) -> Result<()> {
    let options = store::Options {
        search_budget: args.search_budget.0,
    };
    let store = store::open_with(&config.database_url, options).await?;
    let files = FileStore::open(&config.data_dir).with_context(|| {
        format!(
            "cannot prepare file storage in {}",
            config.data_dir.display()
        )
    })?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let security = Security {
        secure_cookies: !args.insecure_cookies,
        trusted_proxies: TrustedProxies::new(args.trusted_proxies.clone()),
        rate_limits: RateLimits {
            register: args.rate_register,
            upload_start: args.rate_upload_start,
            search: args.rate_search,
            facets: args.rate_facets,
            likes: args.rate_likes,
        },
    };
    let state = ServerState::with_security(store.clone(), files, security).with_request_limits(
        RequestLimits {
            request_timeout: args.request_timeout.0,
            upload_timeout: args.upload_timeout.0,
            upload_min_rate: args.upload_min_rate,
            upload_rate_window: args.upload_rate_window.0,
        },
    );
    let setup = offer_setup_link(&state, args.addr).await?;
    let limits = ConnectionLimits {
        header_timeout: args.header_timeout.0,
        idle_timeout: args.idle_timeout.0,
        max_connections: args.max_connections,
        shutdown_deadline: args.shutdown_deadline.0,
    };
    serving::fit_open_files(args.max_connections);
    let cut = state.timing.cut.clone();
    let background = Background::start(&state, Plan::serve()).await;
    let app = router(state);
    // The dummy hash for unknown users' logins, made off the start-up path.
    tokio::task::spawn_blocking(app::auth::password::warm_up);
    tracing::info!(
        backend = store.backend(),
        data_dir = %config.data_dir.display(),
        "atelier listening on http://{}",
        args.addr
    );
    if let Some(link) = setup {
        tracing::warn!(
            "this instance has no admin yet: open {link} to create the admin account \
             (the link works once, until the server stops), or run `atelier user create NAME --admin`"
        );
    }
    serving::serve(listener, app, limits, cut, serving::shutdown_signal()).await;
    tracing::info!("shutting down");
    background.stop().await;
    store.close().await;
    Ok(())
}

/// While no admin can log in, arms the one-time setup link and answers it (as a URL on
/// the address served; a wildcard address is shown as localhost).
async fn offer_setup_link(state: &ServerState, addr: SocketAddr) -> Result<Option<String>> {
    if state
        .store
        .has_admin()
        .await
        .context("cannot tell whether the instance has an admin")?
    {
        return Ok(None);
    }
    let token = state.accounts.setup.arm();
    let host = if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    Ok(Some(format!("http://{host}/register?setup={token}")))
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
    let mut result = demo::seed(store.as_ref(), files.as_ref(), &options).await;
    if result.is_ok() {
        // The demo's raw upload events past the retention period go now (their daily
        // rollups stay), not in the first minutes of serving; the planner should know the
        // new data, and the full-text index be in one piece, before the first search.
        let tidy = async {
            let days = app::settings::Settings::load(store.as_ref())
                .await?
                .usage_retention_days;
            store
                .prune_usage_events(chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
                .await?;
            store.analyze().await?;
            store.tidy_search_index().await
        };
        if let Err(err) = tidy.await {
            result = Err(err.into());
        }
    }
    store.close().await;
    let report = result?;
    tracing::info!(
        users = report.users,
        assets = report.assets,
        files = report.files,
        likes = report.likes,
        views = report.views,
        featured = report.featured,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "demo data ready"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let span = |text: &str| text.parse::<Span>().map(|s| s.0);
        assert_eq!(span("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(span("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(span("10"), Ok(Duration::from_secs(10)));
        assert_eq!(span("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(span("1h"), Ok(Duration::from_secs(3600)));
        assert!(span("0s").is_err(), "a zero limit is refused");
        assert!(span("soon").is_err());
        assert!(span("5 days").is_err());
        // Every default shows as it would be typed, and reads back the same.
        for duration in [
            serving::HEADER_TIMEOUT,
            timeouts::UPLOAD_TIMEOUT,
            store::SEARCH_BUDGET,
            Duration::from_millis(1500),
        ] {
            assert_eq!(span(&Span(duration).to_string()), Ok(duration));
        }
        assert_eq!(Span(timeouts::UPLOAD_TIMEOUT).to_string(), "30m");
    }
}
