//! `instant-local`: run a local Instant-compatible server, or create / restore apps
//! in its database.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "instant-local",
    version,
    about = "A local Instant-compatible server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Admin HTTP API.
    Serve {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 8888)]
        port: u16,
        /// SQLite database file, or `:memory:`.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// Personal access token for the Platform API (`/superadmin/...`); when
        /// absent one is generated and printed (stderr) at start.
        #[arg(long)]
        platform_token: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Create an app and print `{"app_id", "admin_token"}`.
    CreateApp {
        /// SQLite database file.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// App title.
        #[arg(long)]
        title: String,
    },
    /// Restore an Instant backup (zip or folder) into a new app and print its credentials.
    Restore {
        /// SQLite database file.
        #[arg(long, default_value = "instant-local.db")]
        db: PathBuf,
        /// App title.
        #[arg(long)]
        title: String,
        /// The backup (zip file or unpacked folder).
        backup: PathBuf,
    },
}

/// The resource bounds `serve` takes from the command line (the rest keep
/// the defaults of `instant_local::Limits`).
#[derive(clap::Args)]
struct LimitArgs {
    /// Temporary apps (`POST /dash/apps/ephemeral`) one client address may
    /// create per minute; 0 turns the limit off.
    #[arg(long, default_value_t = 60)]
    temp_apps_per_minute: u32,
    /// Largest JSON body of queries and transactions, in bytes.
    #[arg(long, default_value_t = instant_local::Limits::default().max_json_body_bytes)]
    max_json_body_bytes: usize,
    /// Largest upload (`PUT /admin/storage/upload`), in bytes (at most 1 GiB).
    #[arg(long, default_value_t = instant_local::Limits::default().max_upload_bytes)]
    max_upload_bytes: u64,
    /// Open connections at most; further clients wait until one closes.
    #[arg(long, default_value_t = instant_local::Limits::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = instant_local::Limits::default().header_read_timeout.as_secs_f64())]
    header_read_timeout_secs: f64,
    /// Seconds a client has to send a request's body once its headers are in.
    #[arg(long, default_value_t = instant_local::Limits::default().body_read_timeout.as_secs_f64())]
    body_read_timeout_secs: f64,
    /// Seconds after which an idle keep-alive connection is closed.
    #[arg(long, default_value_t = instant_local::Limits::default().idle_timeout.as_secs_f64())]
    idle_timeout_secs: f64,
    /// Seconds a query (with its permission rules) may run before it ends
    /// with 429 `timeout`.
    #[arg(long, default_value_t = instant_local::Limits::default().query_timeout.as_secs_f64())]
    query_timeout_secs: f64,
    /// Most entity rows one query result may hold (every nesting level).
    #[arg(long, default_value_t = instant_local::Limits::default().max_result_rows)]
    max_result_rows: usize,
}

impl LimitArgs {
    /// The `Limits` these flags describe, or the message of a bad flag.
    fn limits(&self) -> Result<instant_local::Limits, String> {
        let secs = |name: &str, v: f64| {
            std::time::Duration::try_from_secs_f64(v)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("--{name} must be a positive number of seconds"))
        };
        let mut l = instant_local::Limits::default();
        l.temp_apps_per_minute =
            (self.temp_apps_per_minute > 0).then_some(self.temp_apps_per_minute);
        l.max_json_body_bytes = self.max_json_body_bytes;
        l.max_upload_bytes = self.max_upload_bytes;
        l.max_connections = self.max_connections.max(1);
        l.header_read_timeout = secs("header-read-timeout-secs", self.header_read_timeout_secs)?;
        l.body_read_timeout = secs("body-read-timeout-secs", self.body_read_timeout_secs)?;
        l.idle_timeout = secs("idle-timeout-secs", self.idle_timeout_secs)?;
        l.query_timeout = secs("query-timeout-secs", self.query_timeout_secs)?;
        l.max_result_rows = self.max_result_rows.max(1);
        Ok(l)
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), instant_local::LocalError> {
    use instant_local::LocalServer;
    match cli.command {
        Command::Serve {
            host,
            port,
            db,
            platform_token,
            limits,
        } => {
            let limits = limits
                .limits()
                .map_err(|m| instant_local::LocalError::Io(std::io::Error::other(m)))?;
            let token = match platform_token {
                Some(t) => t,
                None => {
                    let t = format!("per_{}", uuid::Uuid::new_v4().simple());
                    eprintln!("platform token (personal access token): {t}");
                    t
                }
            };
            let server = LocalServer::builder()
                .platform_token(token)
                .limits(limits)
                .db_path(&db)
                .host(host)
                .port(port)
                .start()
                .await?;
            println!("{}", server.url());
            let _ = tokio::signal::ctrl_c().await;
            server.shutdown().await;
        }
        Command::CreateApp { db, title } => {
            let server = LocalServer::builder().db_path(&db).start().await?;
            let app = server.create_app(&title).await?;
            println!("{}", serde_json::to_string(&app).unwrap_or_default());
            server.shutdown().await;
        }
        Command::Restore { db, title, backup } => {
            let server = LocalServer::builder().db_path(&db).start().await?;
            let app = server.restore(&title, &backup).await?;
            println!("{}", serde_json::to_string(&app).unwrap_or_default());
            server.shutdown().await;
        }
    }
    Ok(())
}
